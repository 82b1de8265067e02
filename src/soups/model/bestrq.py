"""BEST-RQ (Chiu et al., 2022): masked-frame prediction of random-projection-quantizer codes.

Targets: stack ``s`` consecutive (CMVN-normalised) input frames, ``s`` the encoder's subsampling factor
(4, or 2 for a ×2 frontend), project with a frozen random matrix (Xavier) to ``code_dim`` (16), l2-normalise,
and take the nearest entry of a frozen random codebook (standard normal, l2-normalised rows; 8192 codes by
default). Targets come from the UNMASKED features. Encoder frame ``t`` (input receptive field ``s·t..s·t+6``)
gets the stack of frames ``s·t+o .. s·t+o+s-1``; ``stack_offset`` o defaults to ``(7 - s) // 2`` (1 for ×4,
2 for ×2), which centres the stack in the receptive field.

Masking: every valid input frame starts a span with probability ``mask_prob`` (0.01); spans are
``mask_span`` frames (40 = 400 ms) and clipped to the utterance; each utterance gets at least
``min_spans`` spans; masked frames are replaced by noise N(0, ``noise_std``²) (0.1). An encoder
frame is a prediction target when at least ``target_threshold`` of its stacked frames are masked.

The projection and codebook are buffers: never trained, not seen by the optimizer, saved in the
state_dict (so resumed runs keep the same targets).

Example:
    >>> import torch
    >>> rq = BestRQObjective(d_model=32, cfg=BestRQConfig(num_codes=64))
    >>> feats, lengths = torch.randn(2, 300, 80), torch.tensor([300, 200])
    >>> batch = rq.prepare(feats, lengths, torch.Generator().manual_seed(0))
    >>> batch.targets.shape, batch.frame_mask.shape
    (torch.Size([2, 74, 1]), torch.Size([2, 74]))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from soups.errors import ConfigError
from soups.model.ssl import SSLBatch, SSLObjective, rand_like_gen
from soups.model.subsampling import FACTORS, MIN_INPUT_FRAMES, subsampled_lengths
from soups.model.numerics import upcast


@dataclass
class BestRQConfig:
    input_dim: int = 80
    num_codes: int = 8192
    code_dim: int = 16
    num_codebooks: int = 1
    stack_frames: int = 4      # = the encoder's subsampling factor (set by the model builder)
    stack_offset: int | None = None  # None: (7 - stack_frames) // 2, the centre of the receptive field
    mask_prob: float = 0.01
    mask_span: int = 40
    min_spans: int = 1
    noise_std: float = 0.1
    target_threshold: float = 0.5
    seed: int = 0  # initialisation of the frozen quantizer

    def __post_init__(self) -> None:
        for key in ("input_dim", "num_codes", "code_dim", "num_codebooks", "mask_span"):
            if int(getattr(self, key)) < 1:
                raise ConfigError(f"model.ssl.{key}", f"must be >= 1, got {getattr(self, key)}")
        if self.stack_frames not in FACTORS:
            raise ConfigError("model.ssl.stack_frames", f"must be the subsampling factor, one of {FACTORS}, "
                              f"got {self.stack_frames}")
        if self.stack_offset is None:
            self.stack_offset = (MIN_INPUT_FRAMES - self.stack_frames) // 2
        if not 0 <= self.stack_offset <= MIN_INPUT_FRAMES - self.stack_frames:
            # frames s·t+offset .. s·t+offset+s-1 must lie inside the valid input of frame t (s·t .. s·t+6)
            raise ConfigError("model.ssl.stack_offset", f"must be in 0..{MIN_INPUT_FRAMES - self.stack_frames} "
                              f"with stack_frames={self.stack_frames}, got {self.stack_offset}")
        if not 0.0 <= self.mask_prob <= 1.0:
            raise ConfigError("model.ssl.mask_prob", f"must be in [0, 1], got {self.mask_prob}")
        if not 0.0 < self.target_threshold <= 1.0:
            raise ConfigError("model.ssl.target_threshold", f"must be in (0, 1], got {self.target_threshold}")


class BestRQObjective(SSLObjective):
    """Frozen quantizer + masking + a linear prediction layer on the encoder output.

    Metrics: ``loss``, ``accuracy`` (masked frames), ``code_entropy_bits`` (entropy of the target-code
    histogram over all valid frames, averaged over codebooks; max ``log2(num_codes)``),
    ``masked_fraction`` (of valid encoder frames), ``num_targets``.
    """

    def __init__(self, d_model: int, cfg: BestRQConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or BestRQConfig()
        g = torch.Generator().manual_seed(cfg.seed)
        c, din = cfg.num_codebooks, cfg.stack_frames * cfg.input_dim
        bound = math.sqrt(6.0 / (din + cfg.code_dim))  # Xavier-uniform
        self.register_buffer("projection", (torch.rand(c, din, cfg.code_dim, generator=g) * 2 - 1) * bound)
        codebook = F.normalize(torch.randn(c, cfg.num_codes, cfg.code_dim, generator=g), dim=-1)
        self.register_buffer("codebook", codebook)
        self.head = nn.Linear(d_model, c * cfg.num_codes)

    def encoder_frames(self, lengths: Tensor | int) -> Tensor | int:
        """Encoder frames for input frames (the subsampling factor is ``stack_frames``)."""
        return subsampled_lengths(lengths, self.cfg.stack_frames)

    @torch.no_grad()
    def targets(self, feats: Tensor) -> Tensor:
        """Code ids ``(B, T', C)`` for features ``(B, T, F)``, ``T' = subsampled_lengths(T, stack_frames)``."""
        b, t, f = feats.shape
        t_out, s, o = self.encoder_frames(t), self.cfg.stack_frames, self.cfg.stack_offset
        stacked = feats[:, o : o + s * t_out].reshape(b, t_out, s * f).float()
        proj = F.normalize(torch.einsum("btd,cdk->btck", stacked, self.projection.float()), dim=-1)
        # both sides unit-norm: nearest in l2 == largest dot product
        return torch.einsum("btck,cvk->btcv", proj, self.codebook.float()).argmax(dim=-1)

    @torch.no_grad()
    def mask(self, feats: Tensor, lengths: Tensor, generator=None) -> tuple[Tensor, Tensor]:
        """Span-mask the input: -> (masked feats ``(B, T, F)``, frame mask ``(B, T')`` at encoder rate)."""
        b, t, f = feats.shape
        cfg, dev = self.cfg, feats.device
        lengths = lengths.to(dev)
        valid = torch.arange(t, device=dev)[None, :] < lengths[:, None]
        starts = (rand_like_gen((b, t), generator, dev) < cfg.mask_prob) & valid
        # at least min_spans per non-empty utterance: a start drawn so the span fits when possible
        for _ in range(cfg.min_spans):
            need = (starts.sum(dim=1) < cfg.min_spans) & (lengths > 0)
            room = (lengths - cfg.mask_span + 1).clamp(min=1).float()
            extra = (rand_like_gen((b,), generator, dev) * room).long()
            starts[need, extra[need]] = True
        # frame i is masked iff a span starts in (i - span, i]: windowed count via cumulative sums
        cs = F.pad(starts.long().cumsum(dim=1), (cfg.mask_span, 0))
        masked = ((cs[:, cfg.mask_span :] - cs[:, : t]) > 0) & valid
        noise = rand_like_gen((b, t, f), generator, dev, normal=True) * cfg.noise_std
        out = torch.where(masked[..., None], noise.to(feats.dtype), feats)
        t_out, s, o = self.encoder_frames(t), cfg.stack_frames, cfg.stack_offset
        frac = masked[:, o : o + s * t_out].reshape(b, t_out, s).float().mean(dim=-1)
        enc_valid = torch.arange(t_out, device=dev)[None, :] < self.encoder_frames(lengths)[:, None]
        return out, (frac >= cfg.target_threshold) & enc_valid

    def prepare(self, feats: Tensor, lengths: Tensor, generator=None) -> SSLBatch:
        """Targets from the clean features, then masking."""
        targets = self.targets(feats)
        masked, frame_mask = self.mask(feats, lengths, generator)
        return SSLBatch(masked, lengths, targets, frame_mask)

    def loss(self, enc_out: Tensor, enc_mask: Tensor, batch: SSLBatch, generator=None):
        c, v = self.cfg.num_codebooks, self.cfg.num_codes
        sel = batch.frame_mask & enc_mask
        logits = upcast(self.head(enc_out[sel]).view(-1, c, v))  # (N, C, V)
        tgt = batch.targets[sel]  # (N, C)
        metrics = {
            "code_entropy_bits": code_entropy_bits(batch.targets[enc_mask], v),
            "masked_fraction": float(sel.sum()) / max(int(enc_mask.sum()), 1),
            "num_targets": float(sel.sum()),
        }
        if tgt.shape[0] == 0:  # no masked frame in the batch: a zero that keeps the graph
            return self.head.weight.sum() * 0.0 + enc_out.sum() * 0.0, {"loss": 0.0, "accuracy": 0.0, **metrics}
        loss = F.cross_entropy(logits.flatten(0, 1), tgt.flatten())
        acc = float((logits.argmax(dim=-1) == tgt).float().mean())
        return loss, {"loss": float(loss.detach()), "accuracy": acc, **metrics}


def code_entropy_bits(codes: Tensor, num_codes: int) -> float:
    """Entropy (bits) of the code histogram, averaged over codebooks. ``codes`` ``(N, C)``."""
    if codes.numel() == 0:
        return 0.0
    ent = []
    for j in range(codes.shape[1]):
        p = torch.bincount(codes[:, j], minlength=num_codes).float()
        p = p[p > 0] / p.sum()
        ent.append(float(-(p * p.log2()).sum()))
    return sum(ent) / len(ent)
