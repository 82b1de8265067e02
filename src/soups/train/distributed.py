"""Launching training in one process or under ``torchrun`` (gloo on CPU, NCCL on GPU).

Under torchrun every rank samples the same global batch per stream and keeps its shard; gradients are
averaged across ranks after the gradient engine (see :mod:`soups.moo.engine` for what the engine reduces
itself). Rank 0 writes logs and checkpoints.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from soups.train.loop import run_training


def world() -> tuple[int, int]:
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def launch(cfg, out, resume: bool = False, stop_after: int | None = None, progress: bool = True):
    rank, size = world()
    if size == 1:
        return run_training(cfg, out, resume, stop_after, progress)
    raise NotImplementedError("distributed training lands with issue #7")
