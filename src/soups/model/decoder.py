"""A small pre-norm Transformer decoder head for speech translation (the paper's final version).

Each layer: causal self-attention -> cross-attention to the encoder output (encoder padding mask)
-> FFN, all pre-norm with residuals. Token embeddings (scaled by √D) + sinusoidal positions; the
output projection is tied to the embedding by default. Incremental decoding keeps a KV cache
(:class:`DecoderState`): cross-attention keys/values are computed once per utterance, and each
step only attends with the newest query.

Example:
    >>> import torch
    >>> head = TransformerDecoderHead(d_model=16, vocab_size=12, num_layers=2, num_heads=2).eval()
    >>> enc, enc_mask = torch.randn(2, 7, 16), torch.ones(2, 7, dtype=torch.bool)
    >>> y, y_len = torch.tensor([[5, 6, 7], [8, 0, 0]]), torch.tensor([3, 1])
    >>> tin, tout, lens = make_decoder_io(y, y_len, bos=1, eos=2, pad=0)
    >>> head(enc, enc_mask, tin, lens).shape
    torch.Size([2, 4, 12])
    >>> state = head.init_state(enc, enc_mask)
    >>> logp, state = head.step(torch.tensor([1, 1]), state)
    >>> logp.shape
    torch.Size([2, 12])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from soups.model.attention import masked_sdpa, merge_heads, split_heads
from soups.model.numerics import upcast


def sinusoidal_positions(start: int, length: int, dim: int, device) -> Tensor:
    """Sinusoidal position encodings for positions ``start..start+length-1``: ``(length, dim)``."""
    pos = torch.arange(start, start + length, device=device, dtype=torch.float32)[:, None]
    half = (dim + 1) // 2
    inv = torch.exp(-math.log(10000.0) * torch.arange(half, device=device, dtype=torch.float32) / half)
    ang = pos * inv[None, :]
    return torch.cat([ang.sin(), ang.cos()], dim=-1)[:, :dim]


def make_decoder_io(
    targets: Tensor, target_lengths: Tensor, bos: int, eos: int, pad: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Teacher-forcing inputs/outputs from padded targets ``(B, S)``.

    Returns ``tokens_in = [bos, y]``, ``tokens_out = [y, eos]`` (both ``(B, S+1)``, ``pad`` after the
    end) and their lengths ``target_lengths + 1``.
    """
    b, s = targets.shape
    lengths = target_lengths.long() + 1
    pos = torch.arange(s + 1, device=targets.device)[None, :]
    tokens_in = torch.full((b, s + 1), pad, dtype=torch.long, device=targets.device)
    tokens_in[:, 0] = bos
    tokens_in[:, 1:] = targets
    tokens_out = torch.cat([targets, torch.full_like(targets[:, :1], pad)], dim=1).long()
    tokens_out = tokens_out.scatter(1, target_lengths.long()[:, None], eos)
    valid = pos < lengths[:, None]
    return tokens_in.masked_fill(~valid, pad), tokens_out.masked_fill(~valid, pad), lengths


@dataclass
class DecoderState:
    """KV cache. Per layer: cross keys/values ``(N, H, T, Dh)``, self keys/values ``(N, H, u, Dh)``;
    ``enc_mask`` ``(N, T)``; ``length`` = number of tokens already fed."""

    cross_k: list[Tensor]
    cross_v: list[Tensor]
    self_k: list[Tensor]
    self_v: list[Tensor]
    enc_mask: Tensor
    length: int = 0

    def select(self, index: Tensor) -> DecoderState:
        """Reorder/expand hypotheses: row ``i`` of the result is row ``index[i]`` of this state."""
        pick = lambda ts: [t.index_select(0, index) for t in ts]  # noqa: E731
        return DecoderState(
            pick(self.cross_k), pick(self.cross_v), pick(self.self_k), pick(self.self_v),
            self.enc_mask.index_select(0, index), self.length,
        )


class DecoderLayer(nn.Module):
    """Pre-norm layer: causal self-attn, cross-attn, FFN. ``(B, U, D) -> (B, U, D)``."""

    def __init__(self, d_model: int, num_heads: int, ff_dim: int, dropout: float):
        super().__init__()
        self.num_heads, self.dropout = num_heads, dropout
        self.norm_self, self.norm_cross, self.norm_ff = (nn.LayerNorm(d_model) for _ in range(3))
        self.self_qkv = nn.Linear(d_model, 3 * d_model)
        self.self_out = nn.Linear(d_model, d_model)
        self.cross_q = nn.Linear(d_model, d_model)
        self.cross_kv = nn.Linear(d_model, 2 * d_model)
        self.cross_out = nn.Linear(d_model, d_model)
        self.ff = nn.Sequential(
            nn.Linear(d_model, ff_dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(ff_dim, d_model)
        )
        self.drop = nn.Dropout(dropout)

    def memory(self, enc_out: Tensor) -> tuple[Tensor, Tensor]:
        """Cross-attention keys/values ``(B, H, T, Dh)`` from the encoder output ``(B, T, D)``."""
        k, v = self.cross_kv(enc_out).chunk(2, dim=-1)
        return split_heads(k, self.num_heads), split_heads(v, self.num_heads)

    def forward(
        self, x: Tensor, self_mask: Tensor | None, mem: tuple[Tensor, Tensor], mem_mask: Tensor,
        past: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """``self_mask`` ``(B, 1, U, U')`` or None (incremental step: attend to all of ``past``+new);
        ``mem_mask`` ``(B, T)``. Returns the output and this layer's self-attention keys/values."""
        p = self.dropout if self.training else 0.0
        q, k, v = (split_heads(t, self.num_heads) for t in self.self_qkv(self.norm_self(x)).chunk(3, dim=-1))
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        x = x + self.drop(self.self_out(merge_heads(masked_sdpa(q, k, v, self_mask, p))))
        q = split_heads(self.cross_q(self.norm_cross(x)), self.num_heads)
        y = masked_sdpa(q, mem[0], mem[1], mem_mask[:, None, None, :], p)
        x = x + self.drop(self.cross_out(merge_heads(y)))
        x = x + self.drop(self.ff(self.norm_ff(x)))
        return x, (k, v)


class TransformerDecoderHead(nn.Module):
    """Autoregressive decoder head with label-smoothed cross-entropy.

    ``forward(enc_out (B, T, D), enc_mask (B, T), tokens_in (B, U), tokens_in_lengths (B,)) -> logits (B, U, V)``.
    """

    def __init__(
        self, d_model: int, vocab_size: int, num_layers: int = 3, num_heads: int = 4, ff_dim: int | None = None,
        dropout: float = 0.1, label_smoothing: float = 0.1, pad_id: int = 0, bos_id: int = 1, eos_id: int = 2,
        tie_embeddings: bool = True,
    ):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}")
        self.d_model, self.vocab_size, self.label_smoothing = d_model, vocab_size, label_smoothing
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.embed = nn.Embedding(vocab_size, d_model)
        nn.init.normal_(self.embed.weight, std=d_model**-0.5)
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, num_heads, ff_dim or 4 * d_model, dropout) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.out = nn.Linear(d_model, vocab_size, bias=False)
        if tie_embeddings:
            self.out.weight = self.embed.weight
        self.drop = nn.Dropout(dropout)

    def _embed(self, tokens: Tensor, start: int) -> Tensor:
        pos = sinusoidal_positions(start, tokens.shape[1], self.d_model, tokens.device)
        return self.drop(self.embed(tokens) * math.sqrt(self.d_model) + pos.to(self.embed.weight.dtype))

    def forward(self, enc_out: Tensor, enc_mask: Tensor, tokens_in: Tensor, tokens_in_lengths: Tensor) -> Tensor:
        u = tokens_in.shape[1]
        causal = torch.ones(u, u, dtype=torch.bool, device=tokens_in.device).tril()
        key_valid = torch.arange(u, device=tokens_in.device)[None, :] < tokens_in_lengths.to(tokens_in.device)[:, None]
        self_mask = causal[None, None] & key_valid[:, None, None, :]  # (B, 1, U, U)
        x = self._embed(tokens_in, 0)
        for layer in self.layers:
            x, _ = layer(x, self_mask, layer.memory(enc_out), enc_mask)
        return self.out(self.norm(x))

    def loss(
        self, enc_out: Tensor, enc_mask: Tensor, tokens_in: Tensor, tokens_out: Tensor, lengths: Tensor,
        reduction: str = "mean",
    ) -> Tensor:
        """Label-smoothed cross-entropy over the first ``lengths[b]`` positions (padding ignored).

        ``reduction``: "mean" (per token over the batch), "sum", or "none" -> ``(B,)`` per-utterance
        token-mean (lets the caller spot NaN/inf items).
        """
        logits = upcast(self(enc_out, enc_mask, tokens_in, lengths))
        ce = F.cross_entropy(
            logits.transpose(1, 2), tokens_out, reduction="none", label_smoothing=self.label_smoothing
        )  # (B, U)
        valid = torch.arange(ce.shape[1], device=ce.device)[None, :] < lengths.to(ce.device)[:, None]
        ce = ce.masked_fill(~valid, 0.0)
        if reduction == "none":
            return ce.sum(dim=1) / valid.sum(dim=1).clamp(min=1)
        if reduction == "sum":
            return ce.sum()
        if reduction == "mean":
            return ce.sum() / valid.sum().clamp(min=1)
        raise ValueError(f"reduction must be 'none', 'sum' or 'mean', got {reduction!r}")

    # ---- incremental decoding (used by soups.model.decoder_search) ----
    def init_state(self, enc_out: Tensor, enc_mask: Tensor) -> DecoderState:
        """Precompute cross-attention keys/values; empty self-attention cache."""
        mems = [layer.memory(enc_out) for layer in self.layers]
        h = self.layers[0].num_heads
        empty = enc_out.new_zeros(enc_out.shape[0], h, 0, self.d_model // h)
        n = len(self.layers)
        return DecoderState([m[0] for m in mems], [m[1] for m in mems], [empty] * n, [empty] * n, enc_mask, 0)

    def step(self, tokens: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState]:
        """Feed one token per hypothesis ``(N,)``; return next-token log-probs ``(N, V)`` and the new state."""
        x = self._embed(tokens[:, None], state.length)
        new_k, new_v = [], []
        for i, layer in enumerate(self.layers):
            mem = (state.cross_k[i], state.cross_v[i])
            x, (k, v) = layer(x, None, mem, state.enc_mask, past=(state.self_k[i], state.self_v[i]))
            new_k.append(k)
            new_v.append(v)
        logp = F.log_softmax(upcast(self.out(self.norm(x[:, 0]))), dim=-1)
        return logp, DecoderState(state.cross_k, state.cross_v, new_k, new_v, state.enc_mask, state.length + 1)
