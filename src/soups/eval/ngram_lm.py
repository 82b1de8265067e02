"""A token n-gram language model for shallow fusion with CTC prefix beam search.

The model is trained on the *token ids* an objective's tokenizer gives the training transcripts, so it works
with any tokenizer (characters: a character n-gram; SentencePiece: a piece n-gram). Smoothing is interpolated
Witten-Bell (Witten & Bell 1991; Chen & Goodman 1998, eq. 16): with ``c(h, w)`` the count of token ``w`` after
context ``h``, ``c(h)`` the count of ``h`` and ``N(h)`` the number of distinct tokens seen after it,

    P(w | h) = (c(h, w) + N(h) · P(w | h')) / (c(h) + N(h))        (h' = h without its oldest token)

down to a uniform distribution over the ``vocab_size`` token ids plus the end-of-sentence event
(id ``vocab_size``). A context never seen in training has ``c(h) = N(h) = 0``: its distribution is the
shorter context's. Sentences are padded on the left with ``order - 1`` begin-of-sentence markers (id -1).

>>> lm = NgramLM.train([[1, 2], [1, 3]], order=2, vocab_size=4)
>>> round(sum(math.exp(lm.log_prob((1,), w)) for w in range(5)), 6)   # a distribution over 4 ids + EOS
1.0
>>> lm.log_prob((1,), 2) > lm.log_prob((1,), 1)                         # "2" was seen after "1"
True
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Callable, Iterable, Sequence

BOS = -1  # left padding of a sentence's first contexts (never predicted)


class NgramLM:
    """Interpolated Witten-Bell n-gram model over token ids ``0 .. vocab_size - 1`` plus ``eos``."""

    def __init__(self, order: int, vocab_size: int, counts: dict[tuple, Counter]):
        if order < 1:
            raise ValueError(f"order must be >= 1, got {order}")
        self.order, self.vocab_size, self.eos = order, vocab_size, vocab_size
        self._counts = counts
        self._totals = {h: sum(c.values()) for h, c in counts.items()}
        self._cache: dict[tuple, float] = {}

    @classmethod
    def train(cls, sequences: Iterable[Sequence[int]], order: int, vocab_size: int) -> "NgramLM":
        """Count every n-gram of order 1..``order`` of the (BOS-padded, EOS-terminated) sequences."""
        counts: dict[tuple, Counter] = defaultdict(Counter)
        for seq in sequences:
            bad = [t for t in seq if not 0 <= t < vocab_size]
            if bad:
                raise ValueError(f"token ids {bad[:5]} outside 0..{vocab_size - 1}")
            padded = [BOS] * (order - 1) + list(seq) + [vocab_size]
            for i in range(order - 1, len(padded)):
                for k in range(order):  # contexts of length 0 .. order-1
                    counts[tuple(padded[i - k:i])][padded[i]] += 1
        return cls(order, vocab_size, dict(counts))

    def context(self, history: Sequence[int]) -> tuple[int, ...]:
        """The ``order - 1`` tokens that condition the next one (BOS-padded at the start)."""
        n = self.order - 1
        if n == 0:
            return ()
        h = tuple(history[-n:])
        return (BOS,) * (n - len(h)) + h

    def log_prob(self, context: Sequence[int], token: int) -> float:
        """``log P(token | context)``; ``context`` as returned by :meth:`context`, ``token`` in
        ``0 .. vocab_size`` (``vocab_size`` = end of sentence)."""
        key = (tuple(context), token)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = math.log(self._prob(key[0], token))
        return cached

    def _prob(self, context: tuple[int, ...], token: int) -> float:
        p = 1.0 / (self.vocab_size + 1)  # order 0: uniform over the ids and EOS
        for k in range(len(context) + 1):  # Witten-Bell interpolation, shortest context first
            h = context[len(context) - k:]
            seen = self._counts.get(h)
            if seen is None:  # unseen context: keep the shorter context's distribution
                break
            distinct = len(seen)
            p = (seen.get(token, 0) + distinct * p) / (self._totals[h] + distinct)
        return p

    def sentence_log_prob(self, seq: Sequence[int]) -> float:
        """``log P(seq, EOS)`` under the model (BOS-padded)."""
        total, hist = 0.0, []
        for tok in list(seq) + [self.eos]:
            total += self.log_prob(self.context(hist), tok)
            hist.append(tok)
        return total


class WordLM:
    """A word n-gram over the words of the training text, for fusion with a character-level search: a word is
    scored when it ends (boundary token or end of hypothesis). Words never seen in training share id 0,
    whose probability is only the smoothing's, so the search strongly prefers in-vocabulary words."""

    def __init__(self, texts: Iterable[str], order: int, weight: float, boundary_id: int,
                 spell: Callable[[Sequence[int]], str]):
        words = sorted({w for t in texts for w in t.split()})
        self.ids = {w: i + 1 for i, w in enumerate(words)}
        self.lm = NgramLM.train(([self.ids[w] for w in t.split()] for t in texts), order, len(words) + 1)
        self.weight, self.boundary_id, self.spell = weight, boundary_id, spell

    def score(self, spelled: Sequence[int], context: tuple[int, ...]) -> tuple[float, tuple[int, ...]]:
        """``(weight · log P(word | context), new context)`` for the word spelled by token ids ``spelled``
        (nothing for an empty word)."""
        if not spelled:
            return 0.0, context
        word = self.ids.get(self.spell(spelled), 0)
        return self.weight * self.lm.log_prob(context, word), self.lm.context(context + (word,))


class LMFusion:
    """Shallow fusion for CTC prefix beam search: a prefix is ranked by
    ``log P_ctc(prefix) + weight · log P_lm(prefix) + bonus · len(prefix)`` (+ the :class:`WordLM`'s weighted
    log-probability of its finished words, if given), and a finished hypothesis also scores the end of
    sentence. The bonus per token offsets the LMs' preference for short outputs (Hannun et al. 2014, eq. 2).
    A state is ``(token context, tokens of the current word, word context)``."""

    def __init__(self, lm: NgramLM, weight: float, bonus: float, words: WordLM | None = None):
        self.lm, self.weight, self.bonus, self.words = lm, weight, bonus, words

    def start(self) -> tuple:
        """The LM state of the empty prefix."""
        return self.lm.context(()), (), self.words.lm.context(()) if self.words else ()

    def step(self, state: tuple, token: int) -> tuple[float, tuple]:
        """``(fused score gained by emitting token, the new state)``."""
        ctx, spelled, word_ctx = state
        score = self.weight * self.lm.log_prob(ctx, token) + self.bonus
        ctx = self.lm.context(ctx + (token,))
        if self.words is None:
            return score, (ctx, (), ())
        if token == self.words.boundary_id:
            gain, word_ctx = self.words.score(spelled, word_ctx)
            return score + gain, (ctx, (), word_ctx)
        return score, (ctx, spelled + (token,), word_ctx)

    def finish(self, state: tuple) -> float:
        """The fused score of ending the hypothesis in ``state``."""
        ctx, spelled, word_ctx = state
        score = self.weight * self.lm.log_prob(ctx, self.lm.eos)
        if self.words is not None:
            gain, word_ctx = self.words.score(spelled, word_ctx)
            score += gain + self.words.weight * self.words.lm.log_prob(word_ctx, self.words.lm.eos)
        return score
