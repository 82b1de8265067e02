"""The token n-gram LM: closed-form Witten-Bell values, distributions that sum to one, back-off to the
shorter context, and input checks."""

from __future__ import annotations

import doctest
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soups.eval import ngram_lm
from soups.eval.ngram_lm import LMFusion, NgramLM, WordLM


def test_doctests():
    assert doctest.testmod(ngram_lm).failed == 0


def test_closed_form_bigram():
    """Corpus [1 2], [1 3]; vocabulary 0..3 plus EOS (= 4), so uniform is 1/5.
    Unigram events 1:2, 2:1, 3:1, EOS:2 (total 6, 4 distinct): P(2) = (1 + 4/5) / (6 + 4) = 0.18.
    After "1": 2:1, 3:1 (total 2, 2 distinct): P(2 | 1) = (1 + 2 * 0.18) / (2 + 2) = 0.34.
    After BOS: 1:2 (total 2, 1 distinct): P(1 | BOS) = (2 + 1 * P(1)) / 3 with P(1) = (2 + 0.8) / 10."""
    lm = NgramLM.train([[1, 2], [1, 3]], order=2, vocab_size=4)
    assert math.exp(lm.log_prob((1,), 2)) == pytest.approx(0.34)
    assert math.exp(lm.log_prob((1,), 0)) == pytest.approx((0 + 2 * 0.08) / 4)   # P(0) = 0.8 / 10
    assert math.exp(lm.log_prob((ngram_lm.BOS,), 1)) == pytest.approx((2 + 0.28) / 3)
    assert lm.sentence_log_prob([1, 2]) == pytest.approx(
        lm.log_prob((ngram_lm.BOS,), 1) + lm.log_prob((1,), 2) + lm.log_prob((2,), lm.eos))


def test_unseen_context_backs_off_to_the_shorter_one():
    lm = NgramLM.train([[1, 2, 3], [2, 2]], order=3, vocab_size=5)
    for tok in range(6):
        assert lm.log_prob((0, 3), tok) == pytest.approx(lm.log_prob((3,), tok))   # "0 3" never seen
        assert lm.log_prob((4, 0), tok) == pytest.approx(lm.log_prob((), tok))     # nor "0"


def test_order_one_is_a_smoothed_unigram():
    lm = NgramLM.train([[1, 1, 2]], order=1, vocab_size=3)
    # events 1:2, 2:1, EOS:1 (total 4, 3 distinct), uniform 1/4: P(1) = (2 + 3/4) / 7
    assert math.exp(lm.log_prob((), 1)) == pytest.approx(2.75 / 7)
    assert lm.context([1, 2, 1]) == ()


@settings(max_examples=40, deadline=None)
@given(corpus=st.lists(st.lists(st.integers(0, 5), max_size=8), min_size=1, max_size=6),
       order=st.integers(1, 4), context=st.lists(st.integers(0, 5), max_size=5))
def test_every_context_gives_a_distribution(corpus, order, context):
    lm = NgramLM.train(corpus, order=order, vocab_size=6)
    h = lm.context(context)
    total = sum(math.exp(lm.log_prob(h, tok)) for tok in range(7))
    assert total == pytest.approx(1.0, abs=1e-9)
    assert all(lm.log_prob(h, tok) < 0 for tok in range(7))


def test_seen_continuations_are_preferred():
    lm = NgramLM.train([[1, 2, 3]] * 5 + [[3, 2, 1]], order=3, vocab_size=4)
    assert lm.sentence_log_prob([1, 2, 3]) > lm.sentence_log_prob([3, 2, 1]) > lm.sentence_log_prob([2, 3, 1])


def test_bad_input():
    with pytest.raises(ValueError, match="outside 0..3"):
        NgramLM.train([[1, 4]], order=2, vocab_size=4)
    with pytest.raises(ValueError, match="order"):
        NgramLM.train([[1]], order=0, vocab_size=4)


def test_fusion_scores_add_up_to_the_weighted_sentence_probability():
    lm = NgramLM.train([[1, 2], [1, 3], [2]], order=2, vocab_size=4)
    fusion, total = LMFusion(lm, weight=0.7, bonus=0.3), 0.0
    state = fusion.start()
    for tok in (1, 3):
        gain, state = fusion.step(state, tok)
        total += gain
    total += fusion.finish(state)
    assert total == pytest.approx(0.7 * lm.sentence_log_prob([1, 3]) + 2 * 0.3)


def _char_setup(texts):
    from soups.data.tokenizer import CharTokenizer

    tok = CharTokenizer.train(texts, vocab_size=64)
    words = WordLM(texts, order=2, weight=0.5, boundary_id=tok.boundary_id, spell=tok.decode)
    lm = NgramLM.train((tok.encode(t) for t in texts), order=3, vocab_size=tok.vocab_size)
    return tok, LMFusion(lm, weight=0.7, bonus=0.2, words=words)


def _fused(fusion, ids):
    state, total = fusion.start(), 0.0
    for tok in ids:
        gain, state = fusion.step(state, tok)
        total += gain
    return total + fusion.finish(state)


def test_word_lm_adds_the_weighted_word_sentence_probability():
    texts = ["le chat dort", "le chien dort", "un chat mange"]
    tok, fusion = _char_setup(texts)
    for hyp in ("le chat mange", "le chat", "un zèbre dort"):   # "zèbre": out of vocabulary -> word id 0
        ids = tok.encode(hyp)
        word_ids = [fusion.words.ids.get(w, 0) for w in hyp.split()]
        expected = 0.7 * fusion.lm.sentence_log_prob(ids) + 0.2 * len(ids) \
            + 0.5 * fusion.words.lm.sentence_log_prob(word_ids)
        assert _fused(fusion, ids) == pytest.approx(expected)


def test_word_lm_prefers_known_words():
    tok, fusion = _char_setup(["le chat dort", "le chien dort", "un chat mange"])
    no_words = LMFusion(fusion.lm, fusion.weight, fusion.bonus)
    known, unknown = tok.encode("le chat dort"), tok.encode("le chot dort")
    gap_with = _fused(fusion, known) - _fused(fusion, unknown)
    gap_without = _fused(no_words, known) - _fused(no_words, unknown)
    assert gap_with > gap_without > 0
