"""CTC greedy and prefix beam search against brute force over all alignments and F.ctc_loss."""

from __future__ import annotations

import doctest
import itertools
import math
import os
from collections import defaultdict

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from soups.eval import ctc_decode
from soups.eval.ctc_decode import ctc_greedy, ctc_prefix_beam_search, ctc_prefix_beam_search_nbest
from soups.eval.ngram_lm import LMFusion, NgramLM

torch.set_num_threads(1)


def _collapse(path, blank=0):
    out, prev = [], None
    for s in path:
        if s != blank and s != prev:
            out.append(s)
        prev = s
    return tuple(out)


def brute_force(lp: torch.Tensor) -> dict[tuple[int, ...], float]:
    """Labelling -> probability, summing exp(log P(path)) over all V**T paths (tiny T, V only)."""
    probs = lp.double().exp()
    t, v = lp.shape
    out: dict[tuple[int, ...], float] = defaultdict(float)
    for path in itertools.product(range(v), repeat=t):
        out[_collapse(path)] += math.prod(probs[i, s].item() for i, s in enumerate(path))
    return dict(out)


def _one_hot_log(ids, v, eps=1e-6):
    return torch.eye(v)[torch.tensor(ids)].clamp_min(eps).log()


def test_doctests():
    assert doctest.testmod(ctc_decode).failed == 0


def test_greedy_collapses_repeats_drops_blanks():
    lp = _one_hot_log([[0, 1, 1, 0, 1, 2, 2, 0, 3, 3]], 5)
    assert ctc_greedy(lp) == [[1, 1, 2, 3]]


def test_repeated_label_needs_a_blank():
    v = 4
    assert ctc_prefix_beam_search(_one_hot_log([1, 1, 1], v)) == [[1]]
    assert ctc_prefix_beam_search(_one_hot_log([1, 0, 1], v)) == [[1, 1]]
    assert ctc_prefix_beam_search(_one_hot_log([1, 1, 0, 0, 1, 2], v)) == [[1, 1, 2]]
    # "a a" cannot be emitted in 2 frames: it never appears in the n-best, whatever the beam.
    lp = torch.full((2, 3), 1 / 3).log()
    labels = [tuple(s) for s, _ in ctc_prefix_beam_search_nbest(lp, beam=50, topk=3, prune=None)[0]]
    assert (1, 1) not in labels and (1, 2) in labels
    assert len(labels) == len(brute_force(lp))  # every possible labelling, nothing impossible


def test_peaked_distributions_agree_with_greedy():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(6, 40, 30, generator=g) * 12  # one symbol dominates every frame
    lp = logits.log_softmax(-1)
    lengths = torch.tensor([40, 33, 1, 0, 17, 40])
    assert ctc_prefix_beam_search(lp, lengths, beam=8) == ctc_greedy(lp, lengths)
    assert ctc_prefix_beam_search(lp, lengths, beam=1) == ctc_greedy(lp, lengths)


def test_labelling_beats_best_path():
    # Best path is "blank blank" (0.36), but labelling "a" sums to 0.16 + 0.24 + 0.24 = 0.64.
    lp = torch.tensor([[0.6, 0.4]] * 2).log()
    exact = brute_force(lp)
    greedy, beam = ctc_greedy(lp)[0], ctc_prefix_beam_search(lp, beam=4)[0]
    assert greedy == [] and beam == [1]
    assert exact[tuple(beam)] == pytest.approx(0.64) and exact[tuple(greedy)] == pytest.approx(0.36)
    assert tuple(beam) == max(exact, key=exact.get)


def test_labelling_beats_best_path_three_symbols():
    # Frames split mass between "a" and "b"; blank is the single most likely symbol of each frame.
    p = torch.tensor([[0.4, 0.3, 0.3], [0.4, 0.3, 0.3], [0.4, 0.3, 0.3]])
    lp = p.log()
    exact = brute_force(lp)
    greedy, beam = ctc_greedy(lp)[0], ctc_prefix_beam_search(lp, beam=8)[0]
    assert greedy == []
    assert exact[tuple(beam)] >= exact[tuple(greedy)]
    assert exact[tuple(beam)] == pytest.approx(max(exact.values()))


@settings(max_examples=60, deadline=None)
@given(t=st.integers(1, 5), v=st.integers(2, 3), seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([0.5, 2.0, 6.0]))
def test_exact_labelling_probabilities_match_brute_force(t, v, seed, scale):
    g = torch.Generator().manual_seed(seed)
    lp = (torch.randn(t, v, generator=g, dtype=torch.float64) * scale).log_softmax(-1)
    exact = brute_force(lp)
    hyps = ctc_prefix_beam_search_nbest(lp, beam=10_000, topk=v, prune=None)[0]
    got = {tuple(s): math.exp(p) for s, p in hyps}
    assert set(got) == set(exact)
    for labels, prob in exact.items():
        assert got[labels] == pytest.approx(prob, rel=1e-9, abs=1e-15)
    assert sum(got.values()) == pytest.approx(1.0, rel=1e-9)
    assert exact[tuple(hyps[0][0])] == pytest.approx(max(exact.values()), rel=1e-12)


def test_scores_agree_with_ctc_loss():
    g = torch.Generator().manual_seed(3)
    lp = torch.randn(30, 6, generator=g, dtype=torch.float64).log_softmax(-1)
    # pruned beam: tracked score is a lower bound of the true labelling probability (-ctc_loss)
    for labels, score in ctc_prefix_beam_search_nbest(lp, beam=6)[0]:
        nll = F.ctc_loss(lp[:, None], torch.tensor([labels or [1]]), torch.tensor([30]), torch.tensor([len(labels)]),
                         reduction="sum")
        assert score <= -nll.item() + 1e-9
    # exhaustive beam on a short utterance: exact
    short = lp[:7, :3].log_softmax(-1)
    for labels, score in ctc_prefix_beam_search_nbest(short, beam=100_000, topk=3, prune=None)[0][:20]:
        nll = F.ctc_loss(short[:, None], torch.tensor([labels or [1]]), torch.tensor([7]), torch.tensor([len(labels)]),
                         reduction="sum")
        assert score == pytest.approx(-nll.item(), rel=1e-9)


def test_lengths_ignore_padding_frames():
    g = torch.Generator().manual_seed(5)
    a = torch.randn(20, 12, generator=g).mul(3).log_softmax(-1)
    b = torch.randn(11, 12, generator=g).mul(3).log_softmax(-1)
    garbage = _one_hot_log([7] * 9, 12)  # would add a "7" if the padding were decoded
    batch = torch.stack([a, torch.cat([b, garbage])])
    lengths = torch.tensor([20, 11])
    assert ctc_prefix_beam_search(batch, lengths) == [ctc_prefix_beam_search(a)[0], ctc_prefix_beam_search(b)[0]]
    assert ctc_greedy(batch, lengths) == [ctc_greedy(a)[0], ctc_greedy(b)[0]]
    assert ctc_prefix_beam_search(batch, [20, 0])[1] == [] and ctc_greedy(batch, [20, 0])[1] == []
    with pytest.raises(ValueError, match="lengths"):
        ctc_greedy(batch, torch.tensor([21, 3]))


def test_nbest_sorted_and_limited():
    lp = torch.randn(25, 9, generator=torch.Generator().manual_seed(7)).log_softmax(-1)
    hyps = ctc_prefix_beam_search_nbest(lp[None], beam=8, nbest=5)[0]
    scores = [s for _, s in hyps]
    assert len(hyps) == 5 and scores == sorted(scores, reverse=True)
    assert len({tuple(h) for h, _ in hyps}) == 5
    assert ctc_prefix_beam_search(lp, beam=8)[0] == hyps[0][0]


def test_lm_fusion_scores_are_ctc_plus_weighted_lm_exactly():
    """Exhaustive beam: every hypothesis's fused score is log P_ctc (F.ctc_loss, an independent oracle) +
    weight * log P_lm(labels, EOS) + bonus * len; the best one maximises that sum over all labellings."""
    lp = torch.randn(6, 3, generator=torch.Generator().manual_seed(11), dtype=torch.float64).log_softmax(-1)
    lm = NgramLM.train([[1, 2], [2, 2, 1], [1]], order=2, vocab_size=3)
    fusion = LMFusion(lm, weight=0.8, bonus=0.4)
    hyps = ctc_prefix_beam_search_nbest(lp, beam=100_000, topk=3, prune=None, fusion=fusion)[0]
    fused = {}
    for labels, score in hyps:
        nll = F.ctc_loss(lp[:, None], torch.tensor([labels or [1]]), torch.tensor([6]), torch.tensor([len(labels)]),
                         reduction="sum").item()
        fused[tuple(labels)] = -nll + 0.8 * lm.sentence_log_prob(labels) + 0.4 * len(labels)
        assert score == pytest.approx(fused[tuple(labels)], rel=1e-9)
    assert fused[tuple(hyps[0][0])] == pytest.approx(max(fused.values()))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), beam=st.integers(1, 6))
def test_lm_fusion_with_zero_weight_and_bonus_changes_nothing(seed, beam):
    lp = torch.randn(15, 5, generator=torch.Generator().manual_seed(seed)).mul(2).log_softmax(-1)
    lm = NgramLM.train([[1, 2, 3], [4]], order=3, vocab_size=5)
    plain = ctc_prefix_beam_search_nbest(lp, beam=beam)[0]
    fused = ctc_prefix_beam_search_nbest(lp, beam=beam, fusion=LMFusion(lm, weight=0.0, bonus=0.0))[0]
    assert [h for h, _ in fused] == [h for h, _ in plain]
    assert [s for _, s in fused] == pytest.approx([s for _, s in plain])


def test_lm_fusion_resolves_an_acoustically_ambiguous_word():
    """Frames say "a" then "b" or "c" almost equally (c slightly ahead); an LM that has only seen "a b"
    makes the search pick "a b", and a huge bonus cannot make it emit more than the frames allow."""
    probs = torch.tensor([[0.05, 0.9, 0.02, 0.03], [0.9, 0.04, 0.03, 0.03], [0.1, 0.02, 0.43, 0.45]])
    lp = probs.log()
    assert ctc_prefix_beam_search(lp, beam=4)[0] == [1, 3]
    lm = NgramLM.train([[1, 2]] * 10, order=2, vocab_size=4)
    assert ctc_prefix_beam_search(lp, beam=4, fusion=LMFusion(lm, weight=1.0, bonus=0.0))[0] == [1, 2]
    assert len(ctc_prefix_beam_search(lp, beam=4, fusion=LMFusion(lm, 1.0, bonus=50.0))[0]) <= 3


def test_forked_workers_find_the_same_hypotheses_in_order():
    """The search spread over worker processes (longest utterances first) returns exactly the sequential
    result, per utterance and in the input order, LM fusion included."""
    g = torch.Generator().manual_seed(13)
    utts = [torch.randn(n, 6, generator=g, dtype=torch.float64).mul(2).log_softmax(-1) for n in (9, 30, 4, 17, 0, 12)]
    fusion = LMFusion(NgramLM.train([[1, 2, 3], [4, 5], [2, 2]], order=3, vocab_size=6), weight=0.7, bonus=0.5)
    one = ctc_prefix_beam_search_nbest(utts, beam=5, nbest=3, fusion=fusion)
    two = ctc_prefix_beam_search_nbest(utts, beam=5, nbest=3, fusion=fusion, workers=2)
    assert two == one and len(one) == 6 and [h for h, _ in one[4]] == [[]]  # no frames: only the empty labelling
    padded = torch.nn.utils.rnn.pad_sequence(utts, batch_first=True)  # the list means its own lengths
    assert ctc_prefix_beam_search(padded, [len(u) for u in utts], beam=5, fusion=fusion) == [h[0][0] for h in one]
    assert ctc_prefix_beam_search(utts, beam=5, fusion=fusion, workers=8) == [h[0][0] for h in one]


def test_bad_workers_and_ragged_lists_are_refused():
    lp = torch.randn(5, 4).log_softmax(-1)
    with pytest.raises(ValueError, match="workers must be >= 1"):
        ctc_prefix_beam_search(lp, workers=0)
    with pytest.raises(ValueError, match="same V"):
        ctc_prefix_beam_search([lp, lp[:, :3]])
    with pytest.raises(ValueError, match="do not fit"):
        ctc_prefix_beam_search([lp], lengths=[6])
    assert ctc_prefix_beam_search([lp, lp], lengths=[3, 5]) == ctc_prefix_beam_search([lp[:3], lp])
    assert ctc_prefix_beam_search([]) == []


def test_workers_are_separate_processes(tmp_path, monkeypatch):
    search = ctc_decode._search_one

    def logged(*args, **kwargs):  # forked workers inherit the patched module
        with open(tmp_path / "pids", "a") as f:
            f.write(f"{os.getpid()}\n")
        return search(*args, **kwargs)

    monkeypatch.setattr(ctc_decode, "_search_one", logged)
    utts = [torch.randn(40, 5, generator=torch.Generator().manual_seed(i)).log_softmax(-1) for i in range(8)]
    ctc_prefix_beam_search(utts, beam=4, workers=2)
    pids = (tmp_path / "pids").read_text().split()
    assert len(pids) == 8 and str(os.getpid()) not in pids and 1 <= len(set(pids)) <= 2
