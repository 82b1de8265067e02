"""Task heads φ_{t,n} on top of the shared encoder: CTC, utterance classification, (and the
Transformer decoder, re-exported from :mod:`soups.model.decoder`).

Example:
    >>> import torch
    >>> head = CTCHead(d_model=16, vocab_size=10)
    >>> enc, enc_len = torch.randn(2, 20, 16), torch.tensor([20, 3])
    >>> targets, tgt_len = torch.tensor([[1, 2, 3], [4, 4, 5]]), torch.tensor([3, 3])
    >>> out = head.loss(enc, enc_len, targets, tgt_len)
    >>> out.losses.shape, out.feasible.tolist()   # [4, 4, 5] needs 4 frames, only 3 available
    (torch.Size([2]), [True, False])
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from soups.model.decoder import TransformerDecoderHead
from soups.model.numerics import upcast

__all__ = ["CTCHead", "CTCLossOutput", "ClassificationHead", "TransformerDecoderHead", "ctc_min_frames"]

BLANK_ID = 0


def ctc_min_frames(targets: Tensor, target_lengths: Tensor) -> Tensor:
    """Fewest input frames CTC needs per utterance: ``len + number of adjacent repeats``.

    ``targets`` ``(B, S)`` padded, ``target_lengths`` ``(B,)`` -> ``(B,)`` long.
    """
    if targets.shape[1] < 2:
        return target_lengths.long()
    same = targets[:, 1:] == targets[:, :-1]
    pos = torch.arange(1, targets.shape[1], device=targets.device)[None, :]
    repeats = (same & (pos < target_lengths[:, None])).sum(dim=1)
    return target_lengths.long() + repeats


class CTCLossOutput(NamedTuple):
    """``losses``: ``(B,)`` per utterance (or scalar when reduced); ``feasible``: ``(B,)`` bool, False
    where the target cannot be aligned to the frames (its loss was zeroed by ``zero_infinity``);
    ``finite``: ``(B,)`` bool, False where the per-utterance loss is NaN/inf."""

    losses: Tensor
    feasible: Tensor
    finite: Tensor


class CTCHead(nn.Module):
    """Linear -> log-softmax over ``vocab_size`` symbols, blank id 0.

    ``forward(enc_out (B, T, D)) -> log-probs (B, T, V)`` (float32).
    """

    def __init__(self, d_model: int, vocab_size: int):
        super().__init__()
        self.vocab_size = vocab_size
        self.proj = nn.Linear(d_model, vocab_size)

    def forward(self, enc_out: Tensor) -> Tensor:
        return F.log_softmax(upcast(self.proj(enc_out)), dim=-1)

    def loss(
        self, enc_out: Tensor, enc_lengths: Tensor, targets: Tensor, target_lengths: Tensor, reduction: str = "none"
    ) -> CTCLossOutput:
        """CTC loss. ``targets`` ``(B, S)`` padded (ids in ``1..V-1``), lengths ``(B,)``.

        ``reduction`` is passed to ``F.ctc_loss`` ("none" -> per-utterance ``(B,)``; "mean" divides each
        by its target length then averages; "sum"). Infeasible items give 0 loss and 0 gradient
        (``zero_infinity=True``); they are flagged in ``feasible`` so the caller can count/skip them.
        """
        log_probs = self(enc_out).transpose(0, 1)  # (T, B, V)
        per_utt = F.ctc_loss(
            log_probs, targets, enc_lengths, target_lengths, blank=BLANK_ID, reduction="none", zero_infinity=True
        )
        feasible = ctc_min_frames(targets, target_lengths).to(enc_lengths.device) <= enc_lengths
        finite = torch.isfinite(per_utt)
        if reduction == "none":
            losses = per_utt
        elif reduction == "sum":
            losses = per_utt.sum()
        elif reduction == "mean":
            losses = (per_utt / target_lengths.clamp(min=1).to(per_utt)).mean()
        else:
            raise ValueError(f"reduction must be 'none', 'sum' or 'mean', got {reduction!r}")
        return CTCLossOutput(losses, feasible, finite)


class ClassificationHead(nn.Module):
    """Utterance-level classifier: masked mean pooling over valid frames -> linear.

    ``forward(enc_out (B, T, D), mask (B, T)) -> logits (B, C)``.

    >>> head = ClassificationHead(8, num_classes=2)
    >>> head(torch.randn(3, 5, 8), torch.ones(3, 5, dtype=torch.bool)).shape
    torch.Size([3, 2])
    """

    def __init__(self, d_model: int, num_classes: int):
        super().__init__()
        self.num_classes = num_classes
        self.proj = nn.Linear(d_model, num_classes)

    def forward(self, enc_out: Tensor, mask: Tensor) -> Tensor:
        weights = mask.to(enc_out.dtype)[..., None]
        pooled = (enc_out * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return self.proj(pooled)

    def loss(self, enc_out: Tensor, mask: Tensor, labels: Tensor, reduction: str = "none") -> Tensor:
        """Cross-entropy; ``labels`` ``(B,)`` class ids -> ``(B,)`` (``reduction="none"``) or scalar."""
        return F.cross_entropy(upcast(self(enc_out, mask)), labels, reduction=reduction)
