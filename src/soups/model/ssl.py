"""Self-supervised objectives l_u(θ) on the shared encoder: the common interface and a factory.

Both objectives follow the same two-phase protocol, so the trainer can concatenate an SSL batch
with supervised batches into one encoder forward (the encoder is per-sample independent):

1. ``batch = ssl.prepare(feats (B, T, F), lengths (B,), generator)`` -> :class:`SSLBatch` whose
   ``feats`` are the encoder input (masked for BEST-RQ, unchanged for CPC) and whose ``targets`` /
   ``frame_mask`` (encoder resolution) are whatever the loss needs;
2. ``loss, metrics = ssl.loss(enc_out (B, T', D), enc_mask (B, T'), batch, generator)``.

``ssl.forward(encoder, feats, lengths, generator)`` does both with its own encoder call.

Example:
    >>> import torch
    >>> from soups.model.conformer import ConformerEncoder, EncoderConfig
    >>> enc = ConformerEncoder(EncoderConfig(d_model=32, num_blocks=1, num_heads=2, subsampling_channels=8))
    >>> ssl = build_ssl("bestrq", d_model=32, num_codes=64)
    >>> loss, metrics = ssl(enc, torch.randn(2, 200, 80), torch.tensor([200, 150]),
    ...                     torch.Generator().manual_seed(0))
    >>> loss.dim(), sorted(metrics)[:2]
    (0, ['accuracy', 'code_entropy_bits'])
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import Tensor, nn

from soups.errors import ConfigError


@dataclass
class SSLBatch:
    """What :meth:`SSLObjective.prepare` hands to the encoder and back to :meth:`SSLObjective.loss`.

    ``feats`` ``(B, T, F)`` encoder input; ``lengths`` ``(B,)``; ``targets`` ``(B, T')`` (BEST-RQ code
    ids) or None; ``frame_mask`` ``(B, T')`` bool, frames to predict (BEST-RQ) or None.
    """

    feats: Tensor
    lengths: Tensor
    targets: Tensor | None = None
    frame_mask: Tensor | None = None

    def index_select(self, index: Tensor) -> SSLBatch:
        """Rows ``index`` of every tensor (e.g. one half of the batch for MoDo's two samples)."""
        pick = lambda t: None if t is None else t.index_select(0, index.to(t.device))  # noqa: E731
        return SSLBatch(pick(self.feats), pick(self.lengths), pick(self.targets), pick(self.frame_mask))


class SSLObjective(nn.Module):
    """Base class: subclasses implement ``prepare`` and ``loss``; both return plain-float metrics."""

    def prepare(self, feats: Tensor, lengths: Tensor, generator=None) -> SSLBatch:
        raise NotImplementedError

    def loss(
        self, enc_out: Tensor, enc_mask: Tensor, batch: SSLBatch, generator=None
    ) -> tuple[Tensor, dict[str, float]]:
        raise NotImplementedError

    def forward(self, encoder: nn.Module, feats: Tensor, lengths: Tensor, generator=None):
        """Prepare, encode, and compute the loss in one call -> ``(loss, metrics)``."""
        batch = self.prepare(feats, lengths, generator)
        enc = encoder(batch.feats, batch.lengths)
        return self.loss(enc.out, enc.mask, batch, generator)


def build_ssl(kind: str, d_model: int, **options) -> SSLObjective:
    """``kind`` in {"cpc", "bestrq"}; ``options`` are fields of its config dataclass.

    Raises :class:`ConfigError` for an unknown kind or option.
    """
    from soups.model.bestrq import BestRQConfig, BestRQObjective
    from soups.model.cpc import CPCConfig, CPCObjective

    table = {"cpc": (CPCConfig, CPCObjective), "bestrq": (BestRQConfig, BestRQObjective)}
    if kind not in table:
        raise ConfigError("model.ssl.kind", f"unknown SSL objective {kind!r}", choices=sorted(table))
    cfg_cls, obj_cls = table[kind]
    known = {f.name for f in fields(cfg_cls)}
    for key in options:
        if key not in known:
            raise ConfigError(f"model.ssl.{key}", f"unknown option for {kind}", choices=sorted(known))
    return obj_cls(d_model, cfg_cls(**options))


def rand_like_gen(shape: tuple[int, ...], generator, device, normal: bool = False) -> Tensor:
    """``torch.rand``/``torch.randn`` of ``shape`` on ``device``, drawn from ``generator`` (which may
    live on another device, e.g. a CPU generator for reproducible CUDA runs) or the global RNG."""
    fn = torch.randn if normal else torch.rand
    if generator is None:
        return fn(shape, device=device)
    return fn(shape, generator=generator, device=generator.device).to(device)
