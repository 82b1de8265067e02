"""Numerics shared by the heads and losses."""

from __future__ import annotations

import torch
from torch import Tensor


def upcast(x: Tensor) -> Tensor:
    """float32 for half-precision tensors (under autocast); float32/float64 tensors are left as they are,
    so float64 training (used to verify exactness) stays float64 end to end."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
