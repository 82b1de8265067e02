"""Self-supervised objectives l_u(θ) on the shared encoder: the common interface (the factory, which knows
the objectives, is :func:`soups.model.ssl_factory.build_ssl`).

Both objectives follow the same two-phase protocol, so the trainer can concatenate an SSL batch
with supervised batches into one encoder forward (the encoder is per-sample independent):

1. ``batch = ssl.prepare(feats (B, T, F), lengths (B,), generator)`` -> :class:`SSLBatch` whose
   ``feats`` are the encoder input (masked for BEST-RQ, unchanged for CPC) and whose ``targets`` /
   ``frame_mask`` (encoder resolution) are whatever the loss needs;
2. ``loss, metrics = ssl.loss(enc_out (B, T', D), enc_mask (B, T'), batch, generator)``.

``ssl.forward(encoder, feats, lengths, generator)`` does both with its own encoder call.

"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn



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


def rand_like_gen(shape: tuple[int, ...], generator, device, normal: bool = False) -> Tensor:
    """``torch.rand``/``torch.randn`` of ``shape`` on ``device``, drawn from ``generator`` (which may
    live on another device, e.g. a CPU generator for reproducible CUDA runs) or the global RNG."""
    fn = torch.randn if normal else torch.rand
    if generator is None:
        return fn(shape, device=device)
    return fn(shape, generator=generator, device=generator.device).to(device)
