"""Corpus-level scores: WER and CER (jiwer), BLEU (sacrebleu), and the metric each task reports.

All scores are percentages over the whole corpus (total edits / total reference units, not the mean
of per-utterance rates). Inputs are compared as given: case, punctuation and number formatting are
the caller's normalization; jiwer only collapses repeated spaces (WER) and strips the ends.

Empty reference strings (jiwer 3 rejects them, jiwer 4 accepts them): an empty reference scores
0 errors against an empty hypothesis and one insertion per hypothesis word (character) otherwise;
it adds nothing to the denominator. A corpus whose references have no words at all but whose
hypotheses do has no defined error rate: :class:`ValueError`. So does an empty corpus (nothing was
scored: reporting 0 % would hide the bug) and lists of different lengths.

>>> wer(["the cat sat on the mat"], ["the cat sit on mat"])   # 1 substitution + 1 deletion / 6
33.333333333333336
>>> cer(["今天 下雨"], ["今天下雪"], remove_spaces=True)       # 1 substitution / 4 characters
25.0
>>> score_task("asr", "zh", ["今天下雨"], ["今天下雨"])
{'metric': 'cer', 'value': 0.0}
"""

from __future__ import annotations

import re

import jiwer
from sacrebleu.metrics import BLEU

from soups.data.languages import CER_LANGS

ASR_TASKS = frozenset({"asr"})
TRANSLATION_TASKS = frozenset({"st", "ast", "translation"})
_SPACES = re.compile(r"\s+")


def _check(refs: list[str], hyps: list[str]) -> None:
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses: they must pair up one to one")
    if not refs:
        raise ValueError("nothing to score: the reference and hypothesis lists are empty")


def _error_rate(refs: list[str], hyps: list[str], unit: str) -> float:
    """Corpus error rate in % with ``unit`` = ``"word"`` or ``"char"`` (jiwer's default transforms)."""
    _check(refs, hyps)
    process = jiwer.process_words if unit == "word" else jiwer.process_characters
    pairs = [(r, h) for r, h in zip(refs, hyps) if r.strip()]
    edits = ref_units = 0
    if pairs:
        out = process([r for r, _ in pairs], [h for _, h in pairs])
        edits = out.substitutions + out.deletions + out.insertions
        ref_units = out.hits + out.substitutions + out.deletions
    for r, h in zip(refs, hyps):  # empty references: every hypothesis unit is an insertion
        if not r.strip():
            edits += len(h.split()) if unit == "word" else len(h.strip())
    if ref_units == 0:
        if edits:
            raise ValueError(f"{unit} error rate undefined: all references are empty but hypotheses are not")
        return 0.0
    return 100.0 * edits / ref_units


def wer(refs: list[str], hyps: list[str]) -> float:
    """Word error rate in %, corpus-level: (S + D + I) / reference words.

    >>> wer(["a b c", "d e f"], ["a x c", "d e"])
    33.333333333333336
    """
    return _error_rate(refs, hyps, "word")


def cer(refs: list[str], hyps: list[str], remove_spaces: bool = False) -> float:
    """Character error rate in %, corpus-level. Spaces count as characters unless ``remove_spaces``
    (used for Chinese and Japanese, whose word segmentation is not part of the transcript).

    >>> cer(["ab cd"], ["abcd"]), cer(["ab cd"], ["abcd"], remove_spaces=True)
    (20.0, 0.0)
    """
    if remove_spaces:
        refs, hyps = [_SPACES.sub("", r) for r in refs], [_SPACES.sub("", h) for h in hyps]
    return _error_rate(refs, hyps, "char")


def bleu(refs: list[str], hyps: list[str]) -> tuple[float, str]:
    """sacrebleu corpus BLEU (13a tokenizer, case-sensitive, one reference per segment) on detokenized
    text, and its signature (``nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:…``).

    >>> round(bleu(["the cat sat on the mat"], ["the cat sat on the mat"])[0], 6)
    100.0
    """
    _check(refs, hyps)
    metric = BLEU()
    score = metric.corpus_score(list(hyps), [list(refs)])
    return float(score.score), str(metric.get_signature())


def score_task(task: str, lang: str, refs: list[str], hyps: list[str]) -> dict:
    """The metric a task reports: ``{"metric", "value"[, "signature"]}``.

    ASR: CER (spaces removed) for zh and ja, WER otherwise; translation (``st``/``ast``/``translation``,
    X→English): BLEU with its signature. ``lang`` is the source language.

    >>> score_task("asr", "fr", ["le chat"], ["le chien"])
    {'metric': 'wer', 'value': 50.0}
    """
    if task in ASR_TASKS:
        if lang.split("-")[0] in CER_LANGS:
            return {"metric": "cer", "value": cer(refs, hyps, remove_spaces=True)}
        return {"metric": "wer", "value": wer(refs, hyps)}
    if task in TRANSLATION_TASKS:
        value, signature = bleu(refs, hyps)
        return {"metric": "bleu", "value": value, "signature": signature}
    raise ValueError(f"no text metric for task {task!r}; known: {sorted(ASR_TASKS | TRANSLATION_TASKS)}")
