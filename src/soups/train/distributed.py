"""Distributed training on ``torch.distributed`` (launched by ``torchrun``; gloo on CPU, NCCL on GPU).

    torchrun --standalone --nproc_per_node=2 -m soups train configs/demo.yaml --out runs/ddp
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv_backend=c10d --rdzv_endpoint=HOST:29400 \\
        -m soups train CONFIG --out EXP train.parallel=data

Two ways to split the work (``train.parallel``):

``data``       every rank samples the same *global* batch per stream and keeps its shard; each objective's
               loss on a rank is rescaled by (its items / all ranks' items) so that the mean of the ranks'
               gradients is exactly the single-process gradient of the global batch. What the gradient
               engine needs (per-objective gradients, tap Grams) and the final gradients are averaged.
``objective``  ranks own whole streams (e.g. one language each), run the encoder on their streams only
               and exchange only what the weights and the direction need: the rows of G (faithful) or the
               pooled tap gradients (fast), then the sum of their gradient contributions.

Either way the MoDo weights are identical on every rank and equal to the single-process ones (exact
without dropout and CPC; BEST-RQ masks and SpecAugment are drawn per utterance from its position in the
global batch). Rank 0 writes logs and checkpoints. The launch itself (one process or one rank) is
:func:`soups.train.loop.launch`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from soups.errors import ConfigError
from soups.moo.groups import scale_losses_by_items


def world() -> tuple[int, int]:
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


@dataclass
class Communicator:
    """What the trainer and the engine exchange across ranks (and how many bytes that costs)."""

    mode: str                 # "data" | "objective"
    rank: int
    size: int
    owned: set[str] = field(default_factory=set)   # objective mode: the streams this rank computes
    bytes_sent: int = 0

    def _all_reduce(self, t: torch.Tensor) -> torch.Tensor:
        self.bytes_sent += t.numel() * t.element_size()
        dist.all_reduce(t)
        return t

    def reduce_rows(self, t: torch.Tensor) -> torch.Tensor:
        """Per-objective rows (gradients, pooled taps): the mean over data-parallel ranks, or the sum of the
        objective-parallel ranks' own rows (zeros elsewhere) — the full matrix on every rank."""
        out = self._all_reduce(t.contiguous().clone())
        return out / self.size if self.mode == "data" else out

    def reduce_grads(self, model: torch.nn.Module) -> None:
        """Average (data) or sum (objective) every gradient in one flat buffer."""
        params = [p for p in model.parameters() if p.requires_grad]
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        flat = self._all_reduce(torch.cat([p.grad.reshape(-1) for p in params]))
        if self.mode == "data":
            flat /= self.size
        i = 0
        for p in params:
            p.grad.copy_(flat[i:i + p.numel()].view_as(p))
            i += p.numel()

    def normalize_losses(self, terms) -> None:
        """Data parallel: loss ``[m][s]`` × size × (items here / items on all ranks), so that the ranks'
        mean gradient is the gradient of the global batch's mean loss."""
        if self.mode != "data" or terms.sample_weights is None:
            return
        scale_losses_by_items(terms, self._all_reduce, self.size)

    def barrier(self) -> None:
        dist.barrier()


def assign_streams(streams: list[str], rank: int, size: int) -> set[str]:
    """Objective parallelism: stream ``i`` (in model order) belongs to rank ``i % size``."""
    if len(streams) < size:
        raise ConfigError("train.parallel", f"objective parallelism needs at least as many streams as ranks "
                          f"({len(streams)} streams, {size} ranks)")
    return {s for i, s in enumerate(streams) if i % size == rank}
