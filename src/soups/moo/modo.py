"""MoDo (Chen et al., NeurIPS 2023): stochastic MGDA with double sampling, λ persistent over steps.

docs/method.md, "MoDo": λ ← Π_Δ(λ − γ·(G1 G2ᵀ λ + ρ λ)), λ starts uniform (1/M). Only the M×M cross
Gram K12 = G1 G2ᵀ of two independent samples is needed; the direction d = λᵀ(G1 + G2)/2 is the trainer's.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError
from .base import GramInfo, Weighting, uniform
from .simplex import project_simplex

DIRECTION_CHOICES = ("updated", "previous")
NORMALIZE_CHOICES = ("none", "frobenius")
# stall check: every λ_m within STALL_TOL·(1/M) of 1/M for the first STALL_STEPS updates -> one warning
STALL_STEPS, STALL_TOL = 100, 0.02


class MoDo(Weighting):
    """MoDo weighting over M objectives; stateful (λ persists across steps and checkpoints).

    Args:
        num_objectives: M.
        gamma: λ step size γ > 0 (MoDo repo default 0.1).
        rho: ℓ2 regularisation ρ ≥ 0 of λ (MoDo repo default 0.1; the paper's Eq. 12 has no ρ).
        direction_lambda: "updated" (MoDo reference code: d uses λ^{k+1}) or "previous"
            (the paper's Eq. 13: d uses λ^k).
        normalize: "none" (docs/method.md "MoDo": the exact recurrence) or "frobenius" (divide K12 by ‖K12‖_F
            before the update, which makes γ scale-free; not in the paper).
        key: dotted config key used in error messages.

    >>> modo = MoDo(2, gamma=0.1, rho=0.0)
    >>> modo.update_from_gram(torch.tensor([[2.0, 0.0], [1.0, 4.0]])).round(decimals=6).tolist()
    [0.575, 0.425]
    """

    def __init__(self, num_objectives: int, gamma: float = 0.1, rho: float = 0.1,
                 direction_lambda: str = "updated", normalize: str = "none", key: str = "moo.modo") -> None:
        super().__init__(num_objectives)
        if not gamma > 0:
            raise ConfigError(f"{key}.gamma", f"must be > 0, got {gamma!r}")
        if not rho >= 0:
            raise ConfigError(f"{key}.rho", f"must be >= 0, got {rho!r}")
        if direction_lambda not in DIRECTION_CHOICES:
            raise ConfigError(f"{key}.direction_lambda", f"unknown value {direction_lambda!r}",
                              choices=DIRECTION_CHOICES)
        if normalize not in NORMALIZE_CHOICES:
            raise ConfigError(f"{key}.normalize", f"unknown value {normalize!r}", choices=NORMALIZE_CHOICES)
        self.gamma, self.rho = float(gamma), float(rho)
        self.direction_lambda, self.normalize, self.key = direction_lambda, normalize, key
        self.reset()

    @property
    def needs_cross(self) -> bool:  # type: ignore[override]
        return self.num_objectives > 1  # with M = 1, λ = 1 whatever the Gram

    @property
    def weights(self) -> Tensor:
        """The current λ (M,), float64 on CPU."""
        return self._lambda.clone()

    def update(self, G1: Tensor, G2: Tensor) -> Tensor:
        """One λ step from per-objective gradients of two independent samples, G1, G2 (M×P)."""
        G1 = G1.detach().reshape(G1.shape[0], -1)
        G2 = G2.detach().reshape(G2.shape[0], -1)
        return self.update_from_gram(G1.to(torch.float64) @ G2.to(torch.float64).T)

    def update_from_gram(self, K12: Tensor) -> Tensor:
        """One λ step from the cross Gram K12 = G1 G2ᵀ (M×M); returns the new λ (float64, CPU)."""
        m = self.num_objectives
        if K12.shape != (m, m):
            raise ValueError(f"MoDo with {m} objectives needs an {m}×{m} cross Gram, got {tuple(K12.shape)}")
        K = K12.detach().to(device="cpu", dtype=torch.float64)
        if not torch.isfinite(K).all():
            raise ValueError("the cross Gram has non-finite entries (NaN/inf gradients)")
        norm = float(torch.linalg.matrix_norm(K))
        if self.normalize == "frobenius" and norm > 0:
            K = K / norm
        lam = self._lambda
        # MoDo λ update, docs/method.md, "MoDo": λ ← Π_Δ(λ − γ (G1 G2ᵀ λ + ρ λ))
        new = project_simplex(lam - self.gamma * (K @ lam + self.rho * lam))
        self._previous, self._lambda = lam, new
        self.steps += 1
        self._check_stall(norm)
        return new.clone()

    def _check_stall(self, gram_norm: float) -> None:
        """Warn once when λ has not left uniform after STALL_STEPS updates: the exact recurrence's step
        γ·K12·λ scales with the gradients, so a Gram of small norm leaves λ where it started."""
        self._max_shift = max(self._max_shift, self._relative_shift(self._lambda))
        self._gram_norm_sum += gram_norm
        if self.steps == STALL_STEPS and self._max_shift < STALL_TOL:
            fix = "raise gamma" if self.normalize == "frobenius" else \
                f"set '{self.key}.normalize: frobenius' (a scale-free step) or raise gamma"
            warnings.warn(f"config key '{self.key}': MoDo's λ stayed within {100 * self._max_shift:.2g} % of uniform "
                          f"for {STALL_STEPS} updates (mean ‖K12‖_F {self._gram_norm_sum / STALL_STEPS:.2e}, "
                          f"gamma {self.gamma}): the weighting is static in effect; " + fix, stacklevel=3)

    def direction_weights(self) -> Tensor:
        """λ applied to the direction: after ("updated") or before ("previous") the last update."""
        return (self._lambda if self.direction_lambda == "updated" else self._previous).clone()

    def compute(self, grams: GramInfo) -> Tensor:
        if self.num_objectives == 1:
            return torch.ones(1, dtype=torch.float64)
        assert grams.K12 is not None  # checked by Weighting.__call__
        self.update_from_gram(grams.K12)
        return self.direction_weights()

    def reset(self) -> None:
        """Back to uniform λ (a new run)."""
        self._lambda = uniform(self.num_objectives)
        self._previous = self._lambda.clone()
        self.steps, self._max_shift, self._gram_norm_sum = 0, 0.0, 0.0

    def state_dict(self) -> dict[str, Any]:
        return {"lambda": self._lambda.clone(), "previous_lambda": self._previous.clone(), "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        lam = torch.as_tensor(state["lambda"], dtype=torch.float64).cpu()
        prev = torch.as_tensor(state.get("previous_lambda", lam), dtype=torch.float64).cpu()
        if lam.shape != (self.num_objectives,) or prev.shape != lam.shape:
            raise ValueError(f"MoDo state has λ of shape {tuple(lam.shape)}, expected ({self.num_objectives},)")
        self._lambda, self._previous = lam.clone(), prev.clone()
        self.steps = int(state.get("steps", 0))
        self._max_shift = self._relative_shift(lam)

    def _relative_shift(self, lam: Tensor) -> float:
        """max_m |λ_m − 1/M| / (1/M): how far λ is from uniform, relative to the uniform weight."""
        return float((lam * self.num_objectives - 1.0).abs().max())

    def __repr__(self) -> str:
        return (f"MoDo(num_objectives={self.num_objectives}, gamma={self.gamma}, rho={self.rho}, "
                f"direction_lambda={self.direction_lambda!r})")
