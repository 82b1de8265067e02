"""Unbiased sketched Gram estimates with O(M·k) memory, gradients streamed block by block.

With a random sketch Φ (k×P) such that E[ΦᵀΦ] = I, the sketched rows Ĝ = GΦᵀ (M×k) give
E[Ĝ1 Ĝ2ᵀ] = G1 E[ΦᵀΦ] G2ᵀ = G1 G2ᵀ (the MoDo cross Gram, docs/method.md "MoDo") and likewise for G Gᵀ.
Φ is drawn independently per block (seeded from (seed, round, block)), so Ĝ = Σ_b G_b Φ_bᵀ
accumulates without ever holding a full gradient row. Kinds:
  countsketch: each coordinate hashed to one of k buckets with a random sign (memory O(M·k));
  gaussian / rademacher: dense Φ with i.i.d. N(0, 1/k) or ±1/√k entries (O(k·P_block) per block).
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError
from .base import GramInfo

KINDS = ("countsketch", "gaussian", "rademacher")


class GramSketch:
    """Accumulates sketched gradients of two samples and estimates G1 G2ᵀ (M×M).

    >>> sk = GramSketch(num_objectives=2, k=4096, seed=0)
    >>> G1, G2 = torch.randn(2, 1000), torch.randn(2, 1000)
    >>> sk.add(0, G1[:, :600], G2[:, :600]); sk.add(1, G1[:, 600:], G2[:, 600:])
    >>> bool((sk.estimate() - G1 @ G2.T).abs().max() < 0.2 * (G1.norm() * G2.norm()))
    True
    """

    def __init__(self, num_objectives: int, k: int, seed: int = 0, kind: str = "countsketch",
                 key: str = "moo.sketch") -> None:
        if int(num_objectives) < 1:
            raise ValueError(f"num_objectives must be >= 1, got {num_objectives}")
        if int(k) < 1:
            raise ConfigError(f"{key}.k", f"must be >= 1, got {k!r}")
        if kind not in KINDS:
            raise ConfigError(f"{key}.kind", f"unknown sketch {kind!r}", choices=KINDS)
        self.num_objectives, self.k, self.seed, self.kind = int(num_objectives), int(k), int(seed), kind
        self.round = 0
        self.S1: Tensor | None = None
        self.S2: Tensor | None = None

    def _generator(self, block: Any, device: torch.device) -> torch.Generator:
        tag = f"{self.seed}/{self.round}/{block!r}".encode()
        seed = int.from_bytes(hashlib.blake2b(tag, digest_size=8).digest(), "little") % 2**63
        return torch.Generator(device=device).manual_seed(seed)

    def _sketch(self, G: Tensor, block: Any) -> Tensor:
        """G (M×P_b) → G Φ_bᵀ (M×k) in float32/float64 (the dtype of G if floating-point 32/64)."""
        G = G.detach().reshape(G.shape[0], -1)
        dtype = G.dtype if G.dtype in (torch.float32, torch.float64) else torch.float32
        G = G.to(dtype)
        gen, P = self._generator(block, G.device), G.shape[1]
        if self.kind == "countsketch":
            buckets = torch.randint(0, self.k, (P,), generator=gen, device=G.device)
            signs = torch.randint(0, 2, (P,), generator=gen, device=G.device).to(dtype) * 2 - 1
            out = torch.zeros(G.shape[0], self.k, dtype=dtype, device=G.device)
            return out.index_add_(1, buckets, G * signs)
        if self.kind == "gaussian":
            phi = torch.randn(self.k, P, generator=gen, device=G.device, dtype=dtype)
        else:
            phi = torch.randint(0, 2, (self.k, P), generator=gen, device=G.device).to(dtype) * 2 - 1
        return G @ phi.T / self.k**0.5

    def add(self, block: Any, G1_block: Tensor, G2_block: Tensor | None = None) -> None:
        """Add one parameter block of both samples: G1_block, G2_block (M×P_b), same block id ``block``
        (an int or a name; the same Φ_b is used for both samples). Without G2_block: one sample."""
        if G1_block.shape[0] != self.num_objectives:
            raise ValueError(f"expected {self.num_objectives} rows, got {G1_block.shape[0]}")
        s1 = self._sketch(G1_block, block)
        self.S1 = s1 if self.S1 is None else self.S1 + s1.to(self.S1)
        if G2_block is not None:
            if G2_block.shape != G1_block.shape:
                raise ValueError(f"G1/G2 blocks differ in shape: {tuple(G1_block.shape)} vs {tuple(G2_block.shape)}")
            s2 = self._sketch(G2_block, block)
            self.S2 = s2 if self.S2 is None else self.S2 + s2.to(self.S2)

    def add_row(self, row: int, block: Any, g: Tensor, sample: int = 0) -> None:
        """Streaming form of :meth:`add`: objective ``row``'s gradient on one block (any shape), sample 0
        or 1 — for engines that get one objective's gradient at a time, never M rows at once."""
        s = self._sketch(g.reshape(1, -1), block)[0]
        name = "S1" if sample == 0 else "S2"
        if getattr(self, name) is None:
            setattr(self, name, s.new_zeros(self.num_objectives, self.k))
        getattr(self, name)[row] += s

    def estimate(self) -> Tensor:
        """Unbiased estimate of G1 G2ᵀ (M×M); with one sample only, of G1 G1ᵀ."""
        if self.S1 is None:
            raise ValueError("nothing was added to the sketch")
        S2 = self.S1 if self.S2 is None else self.S2
        return self.S1 @ S2.T

    def gram_info(self) -> GramInfo:
        """GramInfo with K ≈ Gram of (G1+G2)/2 and K12 ≈ G1 G2ᵀ (both unbiased)."""
        if self.S1 is None:
            raise ValueError("nothing was added to the sketch")
        if self.S2 is None:
            return GramInfo(self.S1 @ self.S1.T)
        S = (self.S1 + self.S2) / 2
        return GramInfo(S @ S.T, self.S1 @ self.S2.T)

    def reset(self) -> None:
        """Clear the sums and move to a fresh round (new, independent Φ for the next step)."""
        self.S1 = self.S2 = None
        self.round += 1

    def state_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "round": self.round, "k": self.k, "kind": self.kind}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.seed, self.round = int(state["seed"]), int(state["round"])
