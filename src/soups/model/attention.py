"""Attention building blocks: rotary position embeddings (RoPE) and masked SDPA.

All attention in soups goes through :func:`masked_sdpa`, i.e.
``torch.nn.functional.scaled_dot_product_attention`` with a boolean mask where ``True`` means
"this key may be attended to". Masks are made *safe* first: a query row whose keys are all masked
(an empty sequence) would give NaN; such rows get all keys unmasked instead, their output is
garbage but finite, and callers discard it (it belongs to padding).

Example:
    >>> import torch
    >>> attn = RotarySelfAttention(d_model=16, num_heads=2)
    >>> x = torch.randn(3, 10, 16)
    >>> key_mask = torch.arange(10)[None, :] < torch.tensor([[10], [7], [1]])
    >>> attn(x, key_mask).shape
    torch.Size([3, 10, 16])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def split_heads(x: Tensor, num_heads: int) -> Tensor:
    """``(B, T, H*Dh) -> (B, H, T, Dh)``."""
    b, t, d = x.shape
    return x.view(b, t, num_heads, d // num_heads).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    """``(B, H, T, Dh) -> (B, T, H*Dh)``."""
    b, h, t, dh = x.shape
    return x.transpose(1, 2).reshape(b, t, h * dh)


def safe_mask(mask: Tensor) -> Tensor:
    """Unmask every key of rows that have no valid key at all (avoids NaN from an all ``-inf`` softmax).

    ``mask``: bool, ``(..., Tq, Tk)`` with ``True`` = attend.
    """
    empty = ~mask.any(dim=-1, keepdim=True)
    return mask | empty


def masked_sdpa(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, dropout_p: float = 0.0) -> Tensor:
    """SDPA with a boolean mask broadcastable to ``(B, H, Tq, Tk)`` (``True`` = attend).

    ``q``: ``(B, H, Tq, Dh)``, ``k``/``v``: ``(B, H, Tk, Dh)``; returns ``(B, H, Tq, Dh)``.
    """
    if mask is not None:
        mask = safe_mask(mask)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)


def rope_tables(length: int, rot_dim: int, base: float, device, dtype) -> tuple[Tensor, Tensor]:
    """cos/sin tables of shape ``(length, rot_dim // 2)`` for positions ``0..length-1``."""
    half = rot_dim // 2
    inv_freq = 1.0 / (base ** (torch.arange(half, device=device, dtype=torch.float32) / max(half, 1)))
    angles = torch.arange(length, device=device, dtype=torch.float32)[:, None] * inv_freq[None, :]
    return angles.cos().to(dtype), angles.sin().to(dtype)


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate the first ``2 * cos.shape[-1]`` channels of ``x`` ``(B, H, T, Dh)`` by position.

    Channels are rotated as (first half, second half) pairs ("rotate-half" convention). With an odd
    head size (the paper's 612/12 = 51) the last channel is left unrotated (partial rotary).
    """
    half = cos.shape[-1]
    x1, x2, rest = x[..., :half], x[..., half : 2 * half], x[..., 2 * half :]
    rotated = torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)
    return torch.cat([rotated, rest], dim=-1) if rest.shape[-1] else rotated


class RotarySelfAttention(nn.Module):
    """Multi-head self-attention with RoPE on queries/keys and a key-padding mask.

    Relative positions only: the output for a valid frame does not depend on how much padding
    follows it. Input ``(B, T, D)`` and ``key_mask`` ``(B, T)`` (``True`` = valid) -> ``(B, T, D)``.
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0, rope_base: float = 10000.0):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}")
        self.num_heads, self.dropout, self.rope_base = num_heads, dropout, rope_base
        self.head_dim = d_model // num_heads
        self.rot_dim = self.head_dim - self.head_dim % 2
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: Tensor, key_mask: Tensor) -> Tensor:
        q, k, v = (split_heads(t, self.num_heads) for t in self.qkv(x).chunk(3, dim=-1))
        cos, sin = rope_tables(x.shape[1], self.rot_dim, self.rope_base, x.device, q.dtype)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        mask = key_mask[:, None, None, :]  # (B, 1, 1, T)
        y = masked_sdpa(q, k, v, mask, self.dropout if self.training else 0.0)
        return self.out(merge_heads(y))
