"""CTC decoding: greedy (best path) and prefix beam search (best labelling), on CPU.

Inputs are log-probabilities ``(B, T, V)`` (or one utterance ``(T, V)``) with ``lengths (B,)`` valid
frames; frames past an utterance's length are ignored. Id 0 is the blank by project convention.

Greedy decoding keeps the most probable *path* and collapses it (merge repeats, drop blanks).
Prefix beam search looks for the most probable *labelling*, summing over all of its alignments,
which can differ: with two frames of ``P(blank) = 0.6, P(a) = 0.4`` the best path is
``blank blank`` (labelling ``""``, 0.36) but ``"a"`` has probability 0.16 + 0.24 + 0.24 = 0.64.

>>> import math, torch
>>> lp = torch.tensor([[math.log(0.6), math.log(0.4)]] * 2)   # (T=2, V=2), blank = 0
>>> ctc_greedy(lp), ctc_prefix_beam_search(lp, beam=4)
([[]], [[1]])
>>> [(seq, round(math.exp(score), 4)) for seq, score in ctc_prefix_beam_search_nbest(lp, beam=4)[0]]
[([1], 0.64), ([], 0.36)]
"""

from __future__ import annotations

import heapq
import math
import multiprocessing
import warnings
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from soups.eval.ngram_lm import LMFusion

NEG_INF = float("-inf")
Hypothesis = tuple[list[int], float]  # (labels, log-probability of the labelling as tracked by the beam)


def _logaddexp(a: float, b: float) -> float:
    """``log(exp(a) + exp(b))`` for Python floats (faster than numpy on scalars)."""
    if a < b:
        a, b = b, a
    if b == NEG_INF:
        return a
    return a + math.log1p(math.exp(b - a))


def _batch_and_lengths(log_probs, lengths) -> tuple[Tensor, Tensor]:
    """``(B, T, V)`` float tensor (a ``(T, V)`` input becomes B = 1) and validated ``(B,)`` lengths."""
    x = torch.as_tensor(log_probs).detach().cpu()
    if x.dim() == 2:
        x = x.unsqueeze(0)
    if x.dim() != 3:
        raise ValueError(f"log_probs must be (B, T, V) or (T, V), got shape {tuple(x.shape)}")
    b, t, _ = x.shape
    if lengths is None:
        lens = torch.full((b,), t, dtype=torch.long)
    else:
        lens = torch.as_tensor(lengths).detach().cpu().long().reshape(-1)
    if lens.numel() != b or bool(((lens < 0) | (lens > t)).any()):
        raise ValueError(f"lengths {lens.tolist()} do not fit log_probs of shape {tuple(x.shape)}")
    return x, lens


def _utterances(log_probs, lengths) -> list[Tensor]:
    """Each utterance's valid frames ``(T_i, V)``, from a padded batch or a list of utterances (not padded:
    an evaluation set's log-probabilities can be large)."""
    if not isinstance(log_probs, (list, tuple)):
        x, lens = _batch_and_lengths(log_probs, lengths)
        return [x[i, : int(lens[i])] for i in range(x.shape[0])]
    utts = [torch.as_tensor(u).detach().cpu() for u in log_probs]
    if any(u.dim() != 2 or u.shape[1] != utts[0].shape[1] for u in utts):
        raise ValueError("a list of log_probs must hold (T_i, V) tensors with the same V")
    if lengths is None:
        return utts
    lens = torch.as_tensor(lengths).detach().cpu().long().reshape(-1)
    if lens.numel() != len(utts) or any(not 0 <= int(n) <= len(u) for u, n in zip(utts, lens)):
        raise ValueError(f"lengths {lens.tolist()} do not fit utterances of {[len(u) for u in utts]} frames")
    return [u[: int(n)] for u, n in zip(utts, lens)]


@torch.no_grad()
def ctc_greedy(log_probs: Tensor, lengths: Tensor | Sequence[int] | None = None, blank: int = 0) -> list[list[int]]:
    """Best-path decoding: per frame arg-max, merge repeats, drop blanks; one id list per utterance.

    ``log_probs`` (B, T, V) or (T, V); ``lengths`` (B,) valid frames (default: all T).

    >>> ctc_greedy(torch.eye(4)[[1, 1, 0, 1, 2, 2, 3]].log())   # a a - a b b c -> a a b c
    [[1, 1, 2, 3]]
    """
    x, lens = _batch_and_lengths(log_probs, lengths)
    ids = x.argmax(dim=-1)  # (B, T)
    prev = torch.cat([torch.full_like(ids[:, :1], -1), ids[:, :-1]], dim=1)
    valid = torch.arange(ids.shape[1])[None, :] < lens[:, None]
    keep = (ids != blank) & (ids != prev) & valid
    return [ids[i][keep[i]].tolist() for i in range(ids.shape[0])]


def _candidates(lp: Tensor, k: int, blank: int, prune: float | None) -> list[list[tuple[int, float]]]:
    """Per frame the (symbol, log-prob) pairs that may extend a prefix: the ``k`` most probable
    symbols, minus the blank (always handled separately) and those below ``prune``."""
    vals, idx = lp.topk(min(k, lp.shape[1]), dim=1)
    floor = NEG_INF if prune is None else prune
    return [
        [(c, v) for c, v in zip(ci, vi) if c != blank and v >= floor and v > NEG_INF]
        for ci, vi in zip(idx.tolist(), vals.tolist())
    ]


def _labels(node: int, parent: list[int], label: list[int]) -> list[int]:
    """The label sequence of a trie node (walk up to the root)."""
    out = []
    while node > 0:
        out.append(label[node])
        node = parent[node]
    return out[::-1]


def _search_one(lp: Tensor, beam: int, blank: int, prune: float | None, topk: int | None,
                fusion: LMFusion | None = None) -> list[Hypothesis]:
    """Prefix beam search over one utterance ``lp (T, V)``; the final beam, best first.

    Recurrences (Graves 2012 §7.3; Hannun et al. 2014, "First-pass LVCSR with CTC", Alg. 1), per
    prefix ``l`` in log space: ``pb`` = P(l, path ends in blank), ``pnb`` = P(l, ends in last(l)).
    For frame ``t`` with probabilities ``y``:

    * blank:            pb'(l)     += (pb(l) + pnb(l)) · y[blank]
    * repeat last(l):   pnb'(l)    += pnb(l) · y[last(l)]          (the repeat collapses)
    * new symbol c:     pnb'(l+c)  += (pb(l) + pnb(l)) · y[c]      if c != last(l)
                        pnb'(l+c)  += pb(l) · y[c]                 if c == last(l) (needs a blank)

    Contributions reaching the same prefix from different sources are summed (prefix merging);
    then the ``beam`` prefixes with the largest ``pb + pnb`` survive. Without pruning and with a beam
    holding every prefix, ``pb + pnb`` at the end is exactly the labelling probability.

    With ``fusion`` (an n-gram LM), each trie node also carries the LM score of its prefix (weight ·
    log P_lm + bonus per token, added once when the node is created), prefixes are ranked by
    ``pb + pnb + lm`` and finished ones also score the LM's end of sentence.
    """
    rows = lp.tolist()
    cands = _candidates(lp, topk if topk is not None else beam, blank, prune)
    # Prefixes are nodes of a trie (node 0 = empty prefix): O(1) hashing instead of hashing long tuples.
    parent, label, child = [-1], [-1], {}
    lm_score, lm_state = [0.0], [fusion.start() if fusion else ()]  # per node (all zero without an LM)
    beams: dict[int, list[float]] = {0: [0.0, NEG_INF]}  # node -> [pb, pnb]
    for row, frame_cands in zip(rows, cands):
        y_blank = row[blank]
        nxt: dict[int, list[float]] = {}
        for node, (pb, pnb) in beams.items():
            ptot = _logaddexp(pb, pnb)
            last = label[node]
            cur = nxt.setdefault(node, [NEG_INF, NEG_INF])
            cur[0] = _logaddexp(cur[0], ptot + y_blank)
            if node:  # always applied, even when last(l) was pruned from this frame's candidates
                cur[1] = _logaddexp(cur[1], pnb + row[last])
            for c, yc in frame_cands:
                src = pb if c == last else ptot
                if src == NEG_INF:  # e.g. "a a" with no blank-ending path yet: impossible, skip
                    continue
                ext = child.get((node, c))
                if ext is None:
                    ext = child[(node, c)] = len(parent)
                    parent.append(node)
                    label.append(c)
                    gain, state = fusion.step(lm_state[node], c) if fusion else (0.0, ())
                    lm_score.append(lm_score[node] + gain)
                    lm_state.append(state)
                e = nxt.setdefault(ext, [NEG_INF, NEG_INF])
                e[1] = _logaddexp(e[1], src + yc)
        if len(nxt) > beam:
            nxt = dict(heapq.nlargest(beam, nxt.items(),
                                      key=lambda kv: _logaddexp(kv[1][0], kv[1][1]) + lm_score[kv[0]]))
        beams = nxt
    end = (lambda node: lm_score[node] + fusion.finish(lm_state[node])) if fusion else (lambda node: 0.0)
    scored = [(_labels(node, parent, label), s + end(node)) for node, (pb, pnb) in beams.items()
              if (s := _logaddexp(pb, pnb)) > NEG_INF]
    scored.sort(key=lambda h: (-h[1], h[0]))
    return scored


# What forked search workers read (inherited, never pickled: an LM's tables can be large).
_SHARED: tuple | None = None


def _search_shared(i: int) -> list[Hypothesis]:
    utts, kwargs, nbest = _SHARED
    return _search_one(utts[i].double(), **kwargs)[:nbest]


def _worker_init() -> None:
    torch.set_num_threads(1)  # the parent's OpenMP pool does not survive fork (as in DataLoader workers)


def _search_all(utts: list[Tensor], kwargs: dict, nbest: int, workers: int) -> list[list[Hypothesis]]:
    """``_search_one`` on every utterance, in ``workers`` forked processes when there is enough work."""
    global _SHARED
    _SHARED = (utts, kwargs, nbest)
    try:
        workers = min(workers, len(utts))
        if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return [_search_shared(i) for i in range(len(utts))]
        longest_first = sorted(range(len(utts)), key=lambda i: -len(utts[i]))  # balances the workers
        with warnings.catch_warnings():  # Python >= 3.12 warns on fork with threads alive (torch's pool)
            warnings.filterwarnings("ignore", message=".*use of fork\\(\\) may lead to deadlocks.*")
            with multiprocessing.get_context("fork").Pool(workers, initializer=_worker_init) as pool:
                found = pool.map(_search_shared, longest_first, chunksize=1)
        out: list = [None] * len(utts)
        for i, hyps in zip(longest_first, found):
            out[i] = hyps
        return out
    finally:
        _SHARED = None


@torch.no_grad()
def ctc_prefix_beam_search_nbest(
    log_probs: Tensor | np.ndarray | list, lengths: Tensor | Sequence[int] | None = None, beam: int = 8,
    blank: int = 0, prune: float | None = -10.0, topk: int | None = None, nbest: int | None = None,
    fusion: LMFusion | None = None, workers: int = 1,
) -> list[list[Hypothesis]]:
    """CTC prefix beam search; per utterance up to ``nbest`` (default ``beam``) ``(labels, log P)``, best first.

    ``log_probs`` (B, T, V) or (T, V) log-probabilities (log-softmax outputs), or a list of ``(T_i, V)``
    utterances; ``lengths`` (B,).
    Pruning per frame (as in common decoders): only the ``topk`` (default ``beam``) most probable
    symbols may extend a prefix, and of those only symbols with log-probability ``>= prune``
    (``None``: no threshold). ``log P`` sums the alignments the beam kept, so it is a lower bound
    of the labelling probability, exact when nothing was pruned (``topk=V, prune=None``, beam large).
    With ``fusion`` (:class:`~soups.eval.ngram_lm.LMFusion`) the score also holds the weighted LM
    log-probability (end of sentence included) and the length bonus. ``workers`` > 1 searches the
    utterances in that many forked processes (the search is pure Python); the result is the same.

    >>> lp = torch.log(torch.tensor([[0.5, 0.4, 0.1], [0.5, 0.4, 0.1]]))
    >>> [(s, round(math.exp(p), 2)) for s, p in ctc_prefix_beam_search_nbest(lp, beam=3, nbest=2)[0]]
    [([1], 0.56), ([], 0.25)]
    """
    if beam < 1:
        raise ValueError(f"beam must be >= 1, got {beam}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    kwargs = dict(beam=beam, blank=blank, prune=prune, topk=topk, fusion=fusion)
    return _search_all(_utterances(log_probs, lengths), kwargs, nbest if nbest is not None else beam, workers)


def ctc_prefix_beam_search(
    log_probs: Tensor | np.ndarray | list, lengths: Tensor | Sequence[int] | None = None, beam: int = 8,
    blank: int = 0, prune: float | None = -10.0, topk: int | None = None, fusion: LMFusion | None = None,
    workers: int = 1,
) -> list[list[int]]:
    """The best labelling per utterance found by :func:`ctc_prefix_beam_search_nbest` (same arguments).

    >>> a_blank_a = torch.eye(3)[[1, 0, 1]].clamp_min(1e-6).log()  # "a - a": a blank separates repeats
    >>> ctc_prefix_beam_search(a_blank_a), ctc_prefix_beam_search(torch.eye(3)[[1, 1]].clamp_min(1e-6).log())
    ([[1, 1]], [[1]])
    """
    return [h[0][0] for h in ctc_prefix_beam_search_nbest(log_probs, lengths, beam, blank, prune, topk, nbest=1,
                                                         fusion=fusion, workers=workers)]
