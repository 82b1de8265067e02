"""TransformerDecoderHead: causality, encoder-padding invariance, KV cache, loss; greedy/beam search."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F

from soups.model.decoder import TransformerDecoderHead, make_decoder_io
from soups.model.decoder_search import beam_search, greedy_decode, score_sequences

V, D, BOS, EOS, PAD = 11, 16, 1, 2, 0


@pytest.fixture
def head():
    torch.manual_seed(0)
    return TransformerDecoderHead(D, V, num_layers=2, num_heads=4, dropout=0.1, label_smoothing=0.1).eval()


def _enc(lengths, t=None):
    torch.manual_seed(1)
    t = t or max(lengths)
    enc = torch.randn(len(lengths), t, D)
    mask = torch.arange(t)[None] < torch.tensor(lengths)[:, None]
    return enc, mask


def test_causality(head):
    enc, mask = _enc([9, 6])
    tokens = torch.randint(3, V, (2, 8))
    lens = torch.tensor([8, 8])
    base = head(enc, mask, tokens, lens)
    for j in range(1, 8):
        changed = tokens.clone()
        changed[:, j:] = torch.randint(3, V, (2, 8 - j))
        out = head(enc, mask, changed, lens)
        assert torch.allclose(out[:, :j], base[:, :j], atol=1e-5)


def test_encoder_padding_invariance(head):
    enc, mask = _enc([9, 6], t=9)
    padded = torch.cat([enc, 1e3 * torch.randn(2, 5, D)], dim=1)
    padded[1, 6:9] = -1e3
    pmask = torch.cat([mask, torch.zeros(2, 5, dtype=torch.bool)], dim=1)
    tokens, lens = torch.randint(3, V, (2, 5)), torch.tensor([5, 3])
    a = head(enc, mask, tokens, lens)
    b = head(padded, pmask, tokens, lens)
    assert torch.allclose(a, b, atol=1e-5)
    alone = head(enc[1:, :6], mask[1:, :6], tokens[1:, :3], lens[1:])
    assert torch.allclose(a[1, :3], alone[0], atol=1e-5)


def test_kv_cache_equals_full_forward(head):
    enc, mask = _enc([9, 4])
    tokens = torch.cat([torch.full((2, 1), BOS), torch.randint(3, V, (2, 6))], dim=1)
    full = F.log_softmax(head(enc, mask, tokens, torch.tensor([7, 7])), dim=-1)
    state = head.init_state(enc, mask)
    for u in range(7):
        logp, state = head.step(tokens[:, u], state)
        assert torch.allclose(logp, full[:, u], atol=1e-5)
    # reordering the cache reorders hypotheses
    state2 = head.init_state(enc, mask).select(torch.tensor([1, 0]))
    logp2, _ = head.step(tokens[[1, 0], 0], state2)
    assert torch.allclose(logp2, full[[1, 0], 0], atol=1e-5)


def test_make_decoder_io():
    y = torch.tensor([[5, 6, 7], [8, 9, 0]])
    tin, tout, lens = make_decoder_io(y, torch.tensor([3, 2]), bos=BOS, eos=EOS, pad=PAD)
    assert tin.tolist() == [[1, 5, 6, 7], [1, 8, 9, 0]]
    assert tout.tolist() == [[5, 6, 7, 2], [8, 9, 2, 0]]
    assert lens.tolist() == [4, 3]


def test_loss_is_label_smoothed_ce_ignoring_padding(head):
    enc, mask = _enc([9, 6])
    y = torch.tensor([[5, 6, 7, 8], [9, 3, 0, 0]])
    tin, tout, lens = make_decoder_io(y, torch.tensor([4, 2]), BOS, EOS, PAD)
    loss = head.loss(enc, mask, tin, tout, lens)
    logits = head(enc, mask, tin, lens)
    manual = [
        F.cross_entropy(logits[i, : lens[i]], tout[i, : lens[i]], label_smoothing=0.1, reduction="sum")
        for i in range(2)
    ]
    assert torch.allclose(loss, sum(manual) / lens.sum(), atol=1e-5)
    per_utt = head.loss(enc, mask, tin, tout, lens, reduction="none")
    assert torch.allclose(per_utt, torch.stack(manual) / lens, atol=1e-5)
    junk = tout.clone()
    junk[1, 3:] = 7  # padding targets are ignored
    assert torch.allclose(head.loss(enc, mask, tin, junk, lens), loss)


def test_beam_1_equals_greedy(head):
    enc, mask = _enc([9, 6, 3, 8])
    for max_len in (1, 5, 12):
        g = greedy_decode(head, enc, mask, BOS, EOS, max_len)
        assert beam_search(head, enc, mask, BOS, EOS, beam=1, max_len=max_len) == g
        assert all(len(s) <= max_len and EOS not in s for s in g)


def test_search_batched_equals_alone(head):
    enc, mask = _enc([9, 4, 7])
    g = greedy_decode(head, enc, mask, BOS, EOS, 10)
    b = beam_search(head, enc, mask, BOS, EOS, beam=3, max_len=10)
    for i, n in enumerate([9, 4, 7]):
        assert greedy_decode(head, enc[i : i + 1, :n], mask[i : i + 1, :n], BOS, EOS, 10) == [g[i]]
        assert beam_search(head, enc[i : i + 1, :n], mask[i : i + 1, :n], BOS, EOS, beam=3, max_len=10) == [b[i]]


@dataclass
class _TableState:
    last: torch.Tensor

    def select(self, index):
        return _TableState(self.last.index_select(0, index))


class BigramHead:
    """Next-token distribution depends only on the previous token: ``table[prev]`` (log-probs)."""

    def __init__(self, probs: torch.Tensor):
        self.table = probs.log()

    def init_state(self, enc_out, enc_mask):
        return _TableState(torch.zeros(enc_out.shape[0], dtype=torch.long))

    def step(self, tokens, state):
        return self.table[tokens], _TableState(tokens)


def _greedy_trap() -> BigramHead:
    """bos -> A (0.6) | B (0.4); A -> 7 equally likely tokens or eos (0.1); B -> eos (~1). Greedy takes
    A and scores <= log 0.6 + log 0.1; beam finds B eos (log 0.4)."""
    v, a, b = 12, 3, 4
    p = torch.full((v, v), 1e-6)
    p[BOS, a], p[BOS, b] = 0.6, 0.4
    p[a, 5:] = 1.0 / 7  # 7 equally likely continuations
    p[a, EOS] = 0.1
    p[b, EOS] = 1.0
    p[5:, EOS] = 0.9
    p[5:, 5] = 0.1
    p[EOS, EOS] = 1.0
    return BigramHead(p / p.sum(dim=1, keepdim=True))


def test_beam_beats_greedy_where_greedy_is_suboptimal():
    h = _greedy_trap()
    enc, mask = torch.zeros(2, 3, 4), torch.ones(2, 3, dtype=torch.bool)
    g = greedy_decode(h, enc, mask, BOS, EOS, 10)
    b = beam_search(h, enc, mask, BOS, EOS, beam=4, max_len=10, length_penalty=0.0)
    sg, sb = score_sequences(h, enc, mask, g, BOS, EOS), score_sequences(h, enc, mask, b, BOS, EOS)
    assert g[0][0] == 3 and b == [[4], [4]]
    assert (sb >= sg).all() and (sb > sg + 0.5).all()
    assert math.isclose(sb[0].item(), (h.table[BOS, 4] + h.table[4, EOS]).item(), abs_tol=1e-5)
