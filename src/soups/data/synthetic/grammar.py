"""Parallel sentences for the built-in synthetic corpus: six languages from one compositional grammar.

A language-neutral meaning frame (``frames.sample_frame``) is realized in each language by its own
realizer (``realize_<lang>``), which applies the language's word order and morphology; a pair is the
frame realized in the source language and in English. Sentences are written as Common Voice writes
them: capitalised, spelled-out numbers, final "." or "?" (French "… ?", Spanish "¿…?", Chinese "。/？").

>>> pairs = sample_pairs("de", 2, seed=0)
>>> len(pairs), pairs == sample_pairs("de", 2, seed=0)
(2, True)

Sampling is deterministic: ``random.Random(f"{seed}-{lang}")`` drives everything (string seeds are
hashed with SHA-512, not with the per-process salted ``hash``), and no set is ever iterated.
The frame space holds well over 10^9 distinct sentences per language (≈ 70 verbs × 150 subjects ×
100 objects × determiners, numbers 2–99, adjectives, 3 tenses, 45 times, 40 places, questions,
negation, *because* clauses); ``MAX_PAIRS`` caps one request far below that.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from . import lexicon as lx
from . import realize_ca, realize_de, realize_en, realize_es, realize_fr, realize_zh
from .frames import Frame, sample_frame
from .numbers import cardinal
from .surface import fits, roles

LANGUAGES = lx.LANGUAGES
MAX_PAIRS = 1_000_000  # most distinct pairs one call may ask for
_REALIZERS = {"en": realize_en, "fr": realize_fr, "de": realize_de, "es": realize_es, "ca": realize_ca,
              "zh": realize_zh}
_NUMBER_WORDS = tuple(range(2, 21)) + tuple(range(30, 100, 10))


@dataclass(frozen=True)
class SentencePair:
    text: str  # the sentence in the source language
    translation: str  # its English translation (identical to text for English; see sample_pairs_to)


def _check_lang(lang: str) -> None:
    if lang not in _REALIZERS:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")


def realize(frame: Frame, lang: str) -> str:
    """The sentence that expresses ``frame`` in ``lang``."""
    _check_lang(lang)
    return _REALIZERS[lang].realize(frame)


def role_order(frame: Frame, lang: str) -> tuple[str, ...]:
    """The sequence of syntactic roles in the realized sentence (for comparing word orders)."""
    _check_lang(lang)
    return roles(_REALIZERS[lang].chunks(frame))


def content_words(lang: str) -> set[str]:
    """Content words of ``lang``: lexicon lemmas (nouns, verbs, adjectives, adverbs, places, times) plus
    the number words the cardinals 1..99 are built from (two … twenty, thirty … ninety)."""
    _check_lang(lang)
    return lx.lexicon_words(lang) | {cardinal(n, lang) for n in _NUMBER_WORDS}


def sample_pairs(lang: str, n: int, seed: int) -> list[SentencePair]:
    """``n`` pairs with distinct texts, the same list for the same ``(lang, n, seed)`` in any process.

    Sentences outside the speech-friendly length (4–14 words, 6–20 Chinese characters, in both the
    source and the English side) are skipped. Raises ``ValueError`` for an unknown language, a
    negative ``n``, or more than ``MAX_PAIRS``.
    """
    return sample_pairs_to(lang, "en", n, seed)


def sample_pairs_to(lang: str, target: str, n: int, seed: int) -> list[SentencePair]:
    """Like ``sample_pairs`` with the translation in ``target`` (e.g. English -> German); the source
    texts are drawn from the same stream, so they match ``sample_pairs(lang, ...)`` up to length rejections."""
    _check_lang(lang)
    _check_lang(target)
    if not 0 <= n <= MAX_PAIRS:
        raise ValueError(f"n must be in 0..{MAX_PAIRS} (distinct sentences one call can provide), got {n}")
    rng = random.Random(f"{seed}-{lang}")
    seen: set[str] = set()
    pairs: list[SentencePair] = []
    budget = 50 * n + 1000  # draws before giving up; duplicates stay rare far below MAX_PAIRS
    while len(pairs) < n:
        budget -= 1
        if budget < 0:
            raise ValueError(f"the grammar could not produce {n} distinct {lang} sentences")
        frame = sample_frame(rng)
        text = realize(frame, lang)
        if text in seen or not fits(text, lang):
            continue
        translation = text if target == lang else realize(frame, target)
        if not fits(translation, target):
            continue
        seen.add(text)
        pairs.append(SentencePair(text, translation))
    return pairs
