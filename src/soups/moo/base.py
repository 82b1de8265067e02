"""Gram information over objectives and the common ``Weighting`` interface.

Every method reduces, per step, to weights w (M,) over objectives: the shared direction is
d = Σ_m w_m g_m = wᵀG, computed by the trainer either from the Jacobian G (M×P) or as one backward
of Σ_m w_m l_m. Weightings only see Gram information (M×M), never parameters.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor


def _check_square(name: str, K: Tensor) -> None:
    if K.dim() != 2 or K.shape[0] != K.shape[1] or K.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square M×M matrix, got shape {tuple(K.shape)}")


@dataclass(frozen=True)
class GramInfo:
    """Gram information of one step.

    K: M×M Gram G Gᵀ of the per-objective gradients (rows of G, M×P).
    K12: optional M×M cross Gram G1 G2ᵀ of two independent samples (e.g. the two batch halves),
    needed by double-sampling methods (MoDo). With G = (G1 + G2)/2, K = (K11 + K12 + K21 + K22)/4.

    Per-block Gram infos add up (``a + b``): the Gram of a concatenation of parameter blocks is the
    sum of the blocks' Grams.

    >>> G1, G2 = torch.eye(2), 2 * torch.eye(2)
    >>> info = GramInfo.from_jacobians(G1, G2)
    >>> info.K.diag().tolist(), info.K12.diag().tolist()
    ([2.25, 2.25], [2.0, 2.0])
    """

    K: Tensor
    K12: Tensor | None = None

    def __post_init__(self) -> None:
        _check_square("K", self.K)
        if self.K12 is not None and self.K12.shape != self.K.shape:
            raise ValueError(f"K12 must have the shape of K {tuple(self.K.shape)}, got {tuple(self.K12.shape)}")

    @property
    def num_objectives(self) -> int:
        return self.K.shape[0]

    @classmethod
    def from_jacobians(cls, G1: Tensor, G2: Tensor | None = None) -> GramInfo:
        """From per-objective gradient rows: G1 (M×P) alone, or two independent samples G1, G2 (M×P).

        Computed in the input dtype (a float64 copy of a large Jacobian would double its memory).
        """
        G1 = G1.reshape(G1.shape[0], -1)
        if G2 is None:
            return cls(G1 @ G1.T)
        G2 = G2.reshape(G2.shape[0], -1)
        if G1.shape != G2.shape:
            raise ValueError(f"G1 and G2 must have the same shape, got {tuple(G1.shape)} and {tuple(G2.shape)}")
        G = (G1 + G2) / 2
        return cls(G @ G.T, G1 @ G2.T)

    @classmethod
    def from_grams(cls, K11: Tensor, K12: Tensor, K22: Tensor) -> GramInfo:
        """From the three Grams of two samples: K = (K11 + K12 + K12ᵀ + K22)/4 is the Gram of (G1+G2)/2."""
        return cls((K11 + K12 + K12.T + K22) / 4, K12)

    def sub(self, index: list[int]) -> GramInfo:
        """The Gram info of a subset of objectives (rows/columns ``index``)."""
        idx = torch.as_tensor(index, dtype=torch.long, device=self.K.device)
        K12 = None if self.K12 is None else self.K12.index_select(0, idx).index_select(1, idx)
        return GramInfo(self.K.index_select(0, idx).index_select(1, idx), K12)

    def __add__(self, other: GramInfo) -> GramInfo:
        K12 = None if self.K12 is None or other.K12 is None else self.K12 + other.K12
        return GramInfo(self.K + other.K, K12)


def normalized_gram(K: Tensor) -> tuple[Tensor, bool]:
    """K (M×M) as float64 on CPU divided by its trace, and whether it is non-zero.

    Scale-invariant weightings (MGDA, UPGrad, CAGrad, PCGrad) only depend on K up to a positive
    factor; dividing by the trace makes gradients scaled by 1e-10 or 1e15 give the same weights.
    An all-zero K (all gradients zero) returns (zeros, False): callers then return uniform weights.
    """
    _check_square("K", K)
    K64 = K.detach().to(device="cpu", dtype=torch.float64)  # M×M: tiny, solvers run on CPU
    if not torch.isfinite(K64).all():
        raise ValueError("the Gram matrix has non-finite entries (NaN/inf gradients)")
    K64 = (K64 + K64.T) / 2
    trace = K64.diagonal().sum()
    if trace <= 0:
        return torch.zeros_like(K64), False
    return K64 / trace, True


def cosine_from_gram(K: Tensor) -> tuple[Tensor, Tensor]:
    """Pairwise cosine similarities from a Gram K (M×M): (cos M×M float64, defined M×M bool), on CPU.

    cos_ij = K_ij / sqrt(K_ii K_jj); undefined (False in ``defined``, 0 in ``cos``) where a gradient
    is zero. Computed from the trace-normalised Gram so tiny and huge gradients work alike.
    """
    Kn, _ = normalized_gram(K)
    norms = Kn.diagonal().clamp(min=0).sqrt()
    defined = (norms[:, None] > 0) & (norms[None, :] > 0)
    denom = torch.where(defined, norms[:, None] * norms[None, :], torch.ones_like(Kn))
    cos = torch.where(defined, (Kn / denom).clamp(-1.0, 1.0), torch.zeros_like(Kn))
    return cos, defined


def uniform(m: int) -> Tensor:
    """The uniform point 1/M of the simplex (float64)."""
    return torch.full((m,), 1.0 / m, dtype=torch.float64)


class Weighting(ABC):
    """Weights over M objectives from Gram information: ``w = weighting(GramInfo) -> (M,)``.

    Subclasses implement ``compute`` (any dtype/device); ``__call__`` checks M and returns the
    weights in the dtype and on the device of ``grams.K``. ``needs_cross`` says whether ``K12`` is
    required. Stateful weightings (MoDo, PCGrad's generator) persist via ``state_dict``.

    >>> from soups.moo import build_weighting
    >>> w = build_weighting("mgda", 2)(GramInfo(torch.tensor([[1.0, 0.0], [0.0, 1.0]])))
    >>> w.tolist()
    [0.5, 0.5]
    """

    needs_cross: bool = False

    def __init__(self, num_objectives: int) -> None:
        if int(num_objectives) < 1:
            raise ValueError(f"num_objectives must be >= 1, got {num_objectives}")
        self.num_objectives = int(num_objectives)

    @abstractmethod
    def compute(self, grams: GramInfo) -> Tensor:
        """The weights (M,) for these Gram infos."""

    def __call__(self, grams: GramInfo) -> Tensor:
        if grams.num_objectives != self.num_objectives:
            raise ValueError(f"{type(self).__name__} has {self.num_objectives} objectives, got a "
                             f"{grams.num_objectives}×{grams.num_objectives} Gram")
        if self.needs_cross and grams.K12 is None:
            raise ValueError(f"{type(self).__name__} needs the cross Gram K12 = G1 G2ᵀ of two samples")
        return self.compute(grams).to(dtype=grams.K.dtype, device=grams.K.device)

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        del state

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_objectives={self.num_objectives})"
