"""Tokenizers for ASR targets (one per language) and translation targets (English, cased and punctuated).

Two kinds, one interface: SentencePiece (unigram) and characters (Chinese, as in the paper). Every tokenizer
reserves the same special ids, so that heads and decoders never need to know which kind they have:

====  =======================================================
id    meaning
====  =======================================================
0     padding, and the CTC blank (never a target token)
1     unknown
2     beginning of sentence (decoder input)
3     end of sentence (decoder output)
====  =======================================================

Tokenizers are trained on train splits only and saved inside the experiment directory.

>>> tok = CharTokenizer.train(["今天下雨", "明天晴"], vocab_size=100)
>>> tok.decode(tok.encode("今天晴"))
'今天晴'
"""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Iterable

from soups.atomic import atomic_write_text
from soups.errors import DataError

PAD = BLANK = 0
UNK, BOS, EOS = 1, 2, 3
NUM_SPECIAL = 4
WORD_BOUNDARY = "▁"  # the character tokenizer's space (as SentencePiece writes it)


class CharTokenizer:
    """One token per character, the ``vocab_size - 4`` most frequent characters kept.

    Word boundaries: when the training text has spaces (alphabetic languages), a run of whitespace is one
    ``▁`` token and decodes back to a space; text without spaces (Chinese) gets no boundary token, and a
    tokenizer without ``▁`` drops spaces. ``▁`` is always kept when present, whatever ``vocab_size``.

    >>> tok = CharTokenizer.train(["le chat", "la chatte"], vocab_size=100)
    >>> tok.decode(tok.encode("le  chat")), len(tok.encode("le chat"))
    ('le chat', 7)
    """

    kind = "char"

    def __init__(self, chars: list[str]):
        self.chars = list(chars)
        self._index = {c: i + NUM_SPECIAL for i, c in enumerate(self.chars)}
        self._boundary = WORD_BOUNDARY in self._index

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int) -> "CharTokenizer":
        texts = list(texts)
        counts = Counter(ch for t in texts for ch in t if not ch.isspace())
        if not counts:
            raise DataError("cannot train a character tokenizer on empty text")
        if any(len(t.split()) > 1 for t in texts):
            keep = sorted(counts, key=lambda c: (-counts[c], c))[: max(1, vocab_size - NUM_SPECIAL - 1)]
            return cls(sorted(keep) + [WORD_BOUNDARY])
        # most frequent first, ties broken by the character itself (deterministic)
        ranked = sorted(counts, key=lambda c: (-counts[c], c))[: max(1, vocab_size - NUM_SPECIAL)]
        return cls(sorted(ranked))

    @property
    def vocab_size(self) -> int:
        return len(self.chars) + NUM_SPECIAL

    def encode(self, text: str) -> list[int]:
        if self._boundary:
            return [self._index.get(ch, UNK) for ch in WORD_BOUNDARY.join(text.split())]
        return [self._index.get(ch, UNK) for ch in text if not ch.isspace()]

    @property
    def boundary_id(self) -> int | None:
        """The id of the word-boundary token ``▁`` (None for text without spaces)."""
        return self._index.get(WORD_BOUNDARY)

    def decode(self, ids: Iterable[int]) -> str:
        text = "".join(self.chars[i - NUM_SPECIAL] for i in ids if i >= NUM_SPECIAL)
        return " ".join(text.replace(WORD_BOUNDARY, " ").split()) if self._boundary else text

    def state(self) -> dict:
        return {"kind": self.kind, "chars": self.chars}


class SentencePieceTokenizer:
    """A SentencePiece unigram model (trained in memory, stored as its serialized proto)."""

    kind = "spm"

    def __init__(self, model_proto: bytes):
        import sentencepiece as spm

        self.model_proto = model_proto
        self.sp = spm.SentencePieceProcessor(model_proto=model_proto)

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int, character_coverage: float = 1.0) -> "SentencePieceTokenizer":
        import sentencepiece as spm

        sentences = [t for t in texts if t.strip()]
        if not sentences:
            raise DataError("cannot train a SentencePiece model on empty text")
        needed = len({ch for t in sentences for ch in t if not ch.isspace()}) + NUM_SPECIAL + 1
        if vocab_size < needed:
            raise DataError(f"vocab_size {vocab_size} is below the {needed} pieces needed for the "
                            f"{needed - NUM_SPECIAL - 1} distinct characters of the training text")
        buf = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences), model_writer=buf, vocab_size=vocab_size,
            model_type="unigram", character_coverage=character_coverage, hard_vocab_limit=False,
            pad_id=PAD, unk_id=UNK, bos_id=BOS, eos_id=EOS, num_threads=1, minloglevel=2,
            # fixed seed and no sampling of the input: the same texts give the same model
            input_sentence_size=0, shuffle_input_sentence=False, seed_sentencepiece_size=1_000_000)
        return cls(buf.getvalue())

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return self.sp.encode(text)

    def decode(self, ids: Iterable[int]) -> str:
        return self.sp.decode([int(i) for i in ids if int(i) >= NUM_SPECIAL])

    def state(self) -> dict:
        import base64

        return {"kind": self.kind, "model": base64.b64encode(self.model_proto).decode("ascii")}


Tokenizer = CharTokenizer | SentencePieceTokenizer


def train_tokenizer(kind: str, texts: Iterable[str], vocab_size: int) -> Tokenizer:
    if kind == "char":
        return CharTokenizer.train(texts, vocab_size)
    if kind == "spm":
        return SentencePieceTokenizer.train(texts, vocab_size)
    raise DataError(f"unknown tokenizer kind {kind!r} (valid: char, spm)")


def tokenizer_from_state(state: dict) -> Tokenizer:
    if state.get("kind") == "char":
        return CharTokenizer(state["chars"])
    if state.get("kind") == "spm":
        import base64

        return SentencePieceTokenizer(base64.b64decode(state["model"]))
    raise DataError(f"unknown tokenizer kind {state.get('kind')!r}")


def save_tokenizers(tokenizers: dict[str, Tokenizer], path: str | Path) -> None:
    """All tokenizers of an experiment in one JSON file (``{name: state}``)."""
    atomic_write_text(path, json.dumps({k: t.state() for k, t in sorted(tokenizers.items())}))


def load_tokenizers(path: str | Path) -> dict[str, Tokenizer]:
    path = Path(path)
    if not path.is_file():
        raise DataError("tokenizers not found", path)
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return {k: tokenizer_from_state(v) for k, v in data.items()}
    except DataError as err:
        raise DataError(err.message, path) from None
    except (ValueError, KeyError, TypeError, AttributeError, RuntimeError) as err:  # truncated or edited by hand
        raise DataError(f"unreadable tokenizers ({type(err).__name__}: {err}); delete the file to retrain them "
                        "(the model's output layers depend on them: only with a fresh experiment)", path) from None
