"""WER/CER/BLEU against hand counts and against jiwer / sacrebleu called directly."""

from __future__ import annotations

import doctest

import jiwer
import pytest
import sacrebleu
import torch

from soups.eval import metrics
from soups.eval.metrics import bleu, cer, score_task, wer

torch.set_num_threads(1)

REFS = ["the cat sat on the mat", "il fait beau aujourd'hui", "a b c d e"]
HYPS = ["the cat sit on mat", "il fait très beau aujourd'hui", "a b d e f"]


def test_doctests():
    assert doctest.testmod(metrics).failed == 0


def test_wer_hand_computed():
    # 1 substitution (sat -> sit) + 1 deletion (the) over 6 reference words
    assert wer(["the cat sat on the mat"], ["the cat sit on mat"]) == pytest.approx(100 * 2 / 6)
    # corpus-level: (2 + 1 insertion + 2 [1 del, 1 ins]) / (6 + 4 + 5) words, not a mean of rates
    assert wer(REFS, HYPS) == pytest.approx(100 * 5 / 15)


def test_equal_to_jiwer_directly():
    assert wer(REFS, HYPS) == pytest.approx(100 * jiwer.wer(REFS, HYPS))
    assert cer(REFS, HYPS) == pytest.approx(100 * jiwer.cer(REFS, HYPS))


def test_cer_chinese_removes_spaces():
    refs, hyps = ["今天 下雨 了", "我们 去 公园"], ["今天下雪了", "我 去公园 玩"]
    # 今天下雨了 vs 今天下雪了: 1 sub; 我们去公园 vs 我去公园玩: 1 del + 1 ins; 10 reference chars
    assert cer(refs, hyps, remove_spaces=True) == pytest.approx(30.0)
    stripped = [r.replace(" ", "") for r in refs], [h.replace(" ", "") for h in hyps]
    assert cer(refs, hyps, remove_spaces=True) == pytest.approx(100 * jiwer.cer(*stripped))
    assert score_task("asr", "zh", refs, hyps) == {"metric": "cer", "value": pytest.approx(30.0)}
    assert score_task("asr", "zh-CN", refs, hyps)["metric"] == "cer"
    assert score_task("asr", "ja", refs, hyps)["metric"] == "cer"


def test_bleu_identical_is_100_and_matches_sacrebleu():
    refs = ["The quick brown fox jumps over the lazy dog.", "It is raining in Paris today, isn't it?"]
    score, sig = bleu(refs, refs)
    assert score == pytest.approx(100.0)
    assert "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:" in sig
    assert sig.endswith(sacrebleu.__version__)
    hyps = ["The fast brown fox jumped over the lazy dog.", "It rains in Paris today, no?"]
    assert bleu(refs, hyps)[0] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert bleu(refs, hyps)[0] < 100.0
    # case-sensitive
    assert bleu(refs, [h.lower() for h in refs])[0] < 100.0


def test_score_task_routes_metrics():
    assert score_task("asr", "fr", ["le chat noir"], ["le chat"]) == {"metric": "wer", "value": pytest.approx(100 / 3)}
    st = score_task("st", "fr", ["the black cat is here"], ["the black cat is here"])
    assert st["metric"] == "bleu" and st["value"] == pytest.approx(100.0) and "tok:13a" in st["signature"]
    with pytest.raises(ValueError, match="gender"):
        score_task("gender", "fr", ["x"], ["x"])


def test_empty_references_and_hypotheses():
    # empty reference + empty hypothesis: 0 errors; + "x y": 2 insertions; denominator unchanged
    assert wer(["a b", ""], ["a b", ""]) == 0.0
    assert wer(["a b", ""], ["a b", "x y"]) == pytest.approx(100.0)
    assert wer(["a b", "  "], ["a c", "x"]) == pytest.approx(100 * 2 / 2)
    assert cer(["ab", ""], ["ab", "xyz"]) == pytest.approx(150.0)
    assert wer([""], [""]) == 0.0
    with pytest.raises(ValueError, match="undefined"):
        wer(["", ""], ["", "oops"])
    # empty hypotheses: all deletions
    assert wer(["a b c", "d"], ["", ""]) == pytest.approx(100.0)
    assert bleu(["a b c d e"], [""])[0] == 0.0


def test_empty_and_mismatched_lists_raise():
    for fn in (wer, cer, bleu):
        with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
            fn(["a", "b"], ["a"])
        with pytest.raises(ValueError, match="nothing to score"):
            fn([], [])
