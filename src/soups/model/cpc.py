"""Contrastive Predictive Coding (Oord et al., 2018) on the shared encoder's output frames.

z_t = encoder output (40 ms frames). A causal context network c_t = GELU(CausalConv(z_{t-W+1..t}))
sees a window of W frames; per-step linear predictors W_k c_t predict z_{t+k}, k = 1..K, scored
against 1 positive and N negatives by a scaled dot product; InfoNCE = cross-entropy with the
positive as class 0.

Resolution choice (docs/method.md, "Self-supervised objectives"; the paper: context 20 frames = 200 ms,
predict the next 12 steps, 12 negatives): we keep the *duration* of the context, 200 ms = 5 encoder frames at 40 ms
(``context_ms / frame_ms``), and the *count* of prediction steps, 12 encoder frames (480 ms; the
original CPC's 12 steps were 10 ms feature frames). Both are options.

Negatives are frame indices drawn uniformly from the same utterance's *valid* frames, excluding the
positive's index; padding is never a candidate, and positions whose target lies past the end are not
scored.

Caveat: the shared Conformer is bidirectional, so z_{<=t} may already carry information about
the input after t. CPC on such an encoder is partly solvable by that leakage (faithful to the
paper's setup; one reason BEST-RQ is preferred as SSL objective).

Example:
    >>> import torch
    >>> cpc = CPCObjective(d_model=16, cfg=CPCConfig(prediction_steps=3, num_negatives=4))
    >>> z, mask = torch.randn(2, 30, 16), torch.arange(30)[None] < torch.tensor([[30], [20]])
    >>> loss, m = cpc.loss(z, mask, None, torch.Generator().manual_seed(0))
    >>> loss.dim(), 0.0 <= m["accuracy"] <= 1.0
    (0, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from soups.errors import ConfigError
from soups.model.ssl import SSLBatch, SSLObjective, rand_like_gen
from soups.model.numerics import upcast


@dataclass
class CPCConfig:
    """``context_ms``/``frame_ms`` -> context window in encoder frames (default 5); ``prediction_steps``
    K and ``num_negatives`` N in encoder frames; ``context_dim`` None = d_model."""

    context_ms: float = 200.0
    frame_ms: float = 40.0
    prediction_steps: int = 12
    num_negatives: int = 12
    context_dim: int | None = None

    def __post_init__(self) -> None:
        for key in ("prediction_steps", "num_negatives"):
            if int(getattr(self, key)) < 1:
                raise ConfigError(f"model.ssl.{key}", f"must be >= 1, got {getattr(self, key)}")
        if self.context_ms <= 0 or self.frame_ms <= 0:
            raise ConfigError("model.ssl.context_ms", "context_ms and frame_ms must be > 0")

    @property
    def context_frames(self) -> int:
        return max(1, round(self.context_ms / self.frame_ms))


def sample_negatives(pos: Tensor, lengths: Tensor, n_neg: int, generator=None) -> Tensor:
    """Negative frame indices ``(B, P, N)`` for positives ``pos`` ``(B, P)``: uniform over the
    ``L_b - 1`` valid frames of the same utterance other than the positive (never padding).
    Utterances with a single valid frame get index 0 (their positions are never scored)."""
    b, p = pos.shape
    span = (lengths - 1).clamp(min=1).to(torch.float32)[:, None, None]
    neg = (rand_like_gen((b, p, n_neg), generator, pos.device) * span).long()  # in [0, L-1)
    neg = torch.minimum(neg, (span - 1).long())  # guard against float rounding up to L-1
    return neg + (neg >= pos[..., None]).long()  # skip the positive's index


class CPCObjective(SSLObjective):
    """InfoNCE over encoder frames. ``loss(enc_out (B, T, D), enc_mask (B, T), batch, generator)``.

    Metrics: ``loss``, ``accuracy`` (fraction of predictions whose positive scores highest; chance
    is ``1 / (1 + N)``), ``num_predictions``.
    """

    def __init__(self, d_model: int, cfg: CPCConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or CPCConfig()
        dc = cfg.context_dim or d_model
        self.window = cfg.context_frames
        self.context = nn.Conv1d(d_model, dc, self.window)  # made causal by left padding in forward
        self.predictors = nn.Linear(dc, cfg.prediction_steps * d_model)
        self.scale = 1.0 / math.sqrt(d_model)

    def prepare(self, feats: Tensor, lengths: Tensor, generator=None) -> SSLBatch:
        """CPC uses the unmasked input."""
        return SSLBatch(feats, lengths)

    def context_vectors(self, z: Tensor, mask: Tensor) -> Tensor:
        """``(B, T, D)`` -> ``(B, T, Dc)``; c_t depends only on valid frames ``t-W+1..t``."""
        z = z.masked_fill(~mask[..., None], 0.0).transpose(1, 2)
        c = self.context(F.pad(z, (self.window - 1, 0)))
        return F.gelu(c).transpose(1, 2)

    def loss(self, enc_out: Tensor, enc_mask: Tensor, batch: SSLBatch | None = None, generator=None):
        b, t, d = enc_out.shape
        k_steps, n_neg = self.cfg.prediction_steps, self.cfg.num_negatives
        lengths = enc_mask.sum(dim=1)
        enc_out = enc_out.masked_fill(~enc_mask[..., None], 0.0)  # NaN-safe: padding never enters a score
        preds = self.predictors(self.context_vectors(enc_out, enc_mask)).view(b, t, k_steps, d)
        total = enc_out.new_zeros(())
        count, correct = 0, 0
        for k in range(k_steps):
            tk = t - k - 1  # context positions that have a target inside the padded length
            if tk <= 0:
                break
            logits, valid = self._step_logits(enc_out, preds[:, :tk, k], lengths, k + 1, n_neg, generator)
            zeros = logits.new_zeros(b * tk, dtype=torch.long)  # the positive is class 0
            ce = F.cross_entropy(upcast(logits.flatten(0, 1)), zeros, reduction="none")
            vflat = valid.flatten()
            total = total + ce.masked_fill(~vflat, 0.0).sum()
            count += int(vflat.sum())
            correct += int(((logits[..., 0] > logits[..., 1:].amax(dim=-1)) & valid).sum())  # strict: ties lose
        if count == 0:  # nothing to predict (all utterances too short): a zero that keeps the graph
            return preds.sum() * 0.0, {"loss": 0.0, "accuracy": 0.0, "num_predictions": 0.0}
        loss = total / count
        return loss, {"loss": float(loss.detach()), "accuracy": correct / count, "num_predictions": float(count)}

    def _step_logits(self, z: Tensor, pred: Tensor, lengths: Tensor, step: int, n_neg: int, generator):
        """Scores of the positive (column 0) and ``n_neg`` negatives for predicting ``step`` ahead.

        ``pred`` ``(B, tk, D)`` -> logits ``(B, tk, 1+N)``, valid ``(B, tk)`` bool.
        """
        b, tk, _ = pred.shape
        pos = (torch.arange(tk, device=z.device)[None, :] + step).expand(b, tk)  # (B, tk)
        valid = pos < lengths[:, None]
        neg = sample_negatives(pos, lengths, n_neg, generator)
        idx = torch.cat([pos[..., None], neg], dim=-1).clamp(max=z.shape[1] - 1)
        cand = z[torch.arange(b, device=z.device)[:, None, None], idx]  # (B, tk, 1+N, D)
        logits = torch.einsum("btd,btnd->btn", pred, cand) * self.scale
        return logits, valid
