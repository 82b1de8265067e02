"""Paired bootstrap: per-utterance statistics agree with the corpus metrics; p ≈ 0 for a clearly better
system, 0.5 for identical ones, ≈ 0.5 for equally good ones with different errors; seeded."""

from __future__ import annotations

import doctest
import random

import numpy as np
import pytest

from soups.eval.metrics import bleu, cer, wer
from soups.grid import significance
from soups.grid.significance import bleu_score, bleu_stats, paired_bootstrap, utterance_edits, wer_score

WORDS = "the a cat dog sat ran on under mat house red blue small big old new".split()


def _corpus(n=120, seed=0):
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9))) for _ in range(n)]


def _corrupt(refs, share, seed):
    rng = random.Random(seed)
    out = []
    for r in refs:
        words = r.split()
        if rng.random() < share:
            words[rng.randrange(len(words))] = "zebra"
            if rng.random() < 0.5:
                words = words[1:]
        out.append(" ".join(words))
    return out


def test_doctests():
    assert doctest.testmod(significance).failed == 0


def test_utterance_statistics_sum_to_the_corpus_metrics():
    refs = _corpus() + ["", "x y"]
    hyps = _corrupt(refs[:-2], 0.6, 1) + ["stray words", ""]
    edits = utterance_edits(refs, hyps)
    assert wer_score(edits.sum(0, keepdims=True))[0] == pytest.approx(wer(refs, hyps))
    chars = utterance_edits(refs, hyps, "char", remove_spaces=True)
    assert wer_score(chars.sum(0, keepdims=True))[0] == pytest.approx(cer(refs, hyps, remove_spaces=True))
    refs, hyps = refs[:-2], hyps[:-2]
    assert bleu_score(bleu_stats(refs, hyps).sum(0, keepdims=True))[0] == pytest.approx(bleu(refs, hyps)[0])


@pytest.mark.parametrize("kind", ["wer", "bleu"])
def test_p_values(kind):
    refs = _corpus(150)
    good, bad = _corrupt(refs, 0.1, 1), _corrupt(refs, 0.8, 2)
    one, two = _corrupt(refs, 0.5, 3), _corrupt(refs, 0.5, 4)  # equally good, different errors
    stats = (lambda h: bleu_stats(refs, h)) if kind == "bleu" else (lambda h: utterance_edits(refs, h))
    score, higher = (bleu_score, True) if kind == "bleu" else (wer_score, False)

    def p(a, b, seed=0):
        return paired_bootstrap([stats(a)], [stats(b)], score, higher, samples=400, seed=seed)["p"]

    assert p(good, bad) < 0.01  # clearly better
    assert p(bad, good) > 0.99  # clearly worse
    assert p(good, good) == 0.5  # identical outputs: every resample is a tie
    swapped = [a if i % 2 else b for i, (a, b) in enumerate(zip(one, two))]
    mirror = [b if i % 2 else a for i, (a, b) in enumerate(zip(one, two))]
    assert 0.3 < p(swapped, mirror) < 0.7  # the same errors, swapped between the systems: ≈ 0.5
    assert p(good, bad, seed=3) == p(good, bad, seed=3)  # seeded


def test_strata_average_and_interval():
    a = [np.array([[1.0, 10.0]] * 20), np.array([[0.0, 10.0]] * 20)]
    b = [np.array([[3.0, 10.0]] * 20), np.array([[2.0, 10.0]] * 20)]
    r = paired_bootstrap(a, b, wer_score, higher_better=False, samples=100)
    assert (r["a"], r["b"], r["delta"], r["strata"], r["utterances"]) == (5.0, 25.0, -20.0, 2, 40)
    assert r["ci95"] == [pytest.approx(-20.0), pytest.approx(-20.0)] and r["p"] == 0.0
    with pytest.raises(ValueError, match="pair up"):
        paired_bootstrap([a[0]], [b[0][:5]], wer_score, False)
