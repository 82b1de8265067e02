"""CTCHead against the F.ctc_loss oracle, infeasible-target flags; ClassificationHead pooling."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from soups.model.heads import ClassificationHead, CTCHead, ctc_min_frames


def _batch():
    torch.manual_seed(0)
    head = CTCHead(16, 12)
    enc = torch.randn(4, 15, 16)
    enc_len = torch.tensor([15, 10, 3, 6])
    targets = torch.tensor([[1, 2, 3, 4], [5, 5, 6, 0], [7, 8, 9, 0], [3, 3, 3, 0]])
    tgt_len = torch.tensor([4, 3, 3, 3])
    return head, enc, enc_len, targets, tgt_len


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_ctc_loss_equals_oracle(reduction):
    head, enc, enc_len, targets, tgt_len = _batch()
    got = head.loss(enc, enc_len, targets, tgt_len, reduction=reduction).losses
    log_probs = F.log_softmax(head.proj(enc), dim=-1).transpose(0, 1)
    oracle = F.ctc_loss(log_probs, targets, enc_len, tgt_len, blank=0, reduction=reduction, zero_infinity=True)
    assert torch.allclose(got, oracle, atol=1e-5)


def test_ctc_flags_infeasible_targets_and_zeroes_them():
    head, enc, enc_len, targets, tgt_len = _batch()
    out = head.loss(enc, enc_len, targets, tgt_len)
    # item 2: 3 labels in 3 frames is feasible; item 3: "3 3 3" needs 5 frames, has 6 -> feasible
    assert out.feasible.tolist() == [True, True, True, True]
    enc_len2 = torch.tensor([3, 3, 2, 4])  # 4 labels > 3 frames; "5 5 6" needs 4 > 3; "3 3 3" needs 5 > 4
    out2 = head.loss(enc, enc_len2, targets, tgt_len)
    assert out2.feasible.tolist() == [False, False, False, False]
    assert (out2.losses == 0).all() and out2.finite.all()
    out2.losses.sum().backward()
    assert torch.isfinite(head.proj.weight.grad).all()


def test_ctc_min_frames_matches_brute_force():
    torch.manual_seed(0)
    for _ in range(50):
        s = torch.randint(1, 4, (3, 6))
        lens = torch.randint(0, 7, (3,))
        got = ctc_min_frames(s, lens).tolist()
        for i in range(3):
            seq = s[i, : lens[i]].tolist()
            assert got[i] == len(seq) + sum(a == b for a, b in itertools.pairwise(seq))


def test_ctc_min_frames_is_exact_feasibility_boundary():
    """At exactly min_frames frames the loss is finite; one frame fewer it is infinite."""
    torch.manual_seed(0)
    lp = F.log_softmax(torch.randn(12, 1, 5), dim=-1)
    for seq in ([1, 1, 2], [3, 3, 3, 3], [1, 2, 3]):
        tgt, tl = torch.tensor([seq]), torch.tensor([len(seq)])
        need = int(ctc_min_frames(tgt, tl))
        ok = F.ctc_loss(lp[:need], tgt, torch.tensor([need]), tl, reduction="none")
        bad = F.ctc_loss(lp[: need - 1], tgt, torch.tensor([need - 1]), tl, reduction="none")
        assert torch.isfinite(ok).all() and torch.isinf(bad).all()


def test_classification_head_ignores_padding():
    torch.manual_seed(0)
    head = ClassificationHead(8, 3)
    x = torch.randn(2, 10, 8)
    mask = torch.arange(10)[None] < torch.tensor([[10], [4]])
    noisy = x.clone()
    noisy[1, 4:] = 1e3
    assert torch.allclose(head(x, mask), head(noisy, mask))
    assert torch.allclose(head(x, mask)[1], head(x[1:, :4], mask[1:, :4])[0], atol=1e-6)
    loss = head.loss(x, mask, torch.tensor([0, 2]))
    assert loss.shape == (2,)
    assert torch.allclose(loss, F.cross_entropy(head(x, mask), torch.tensor([0, 2]), reduction="none"))
