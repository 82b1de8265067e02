"""Weightings behind one interface (``Weighting``: GramInfo → weights (M,)) and their factory.

linear (static), mgda (exact), modo (stateful, double sampling), pcgrad, cagrad, upgrad — all from
the M×M Gram, so the trainer can apply them as wᵀG or as one backward of Σ w_m l_m.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..errors import ConfigError
from .base import GramInfo, Weighting, normalized_gram, uniform
from .mgda import mgda_weights_from_gram
from .modo import MoDo


class Linear(Weighting):
    """Static weights (default uniform 1/M): the "no MOO" baselines and non-conflicting layers.

    >>> Linear(2, [0.25, 0.75])(GramInfo(torch.eye(2))).tolist()
    [0.25, 0.75]
    """

    def __init__(self, num_objectives: int, weights: Sequence[float] | Tensor | None = None,
                 key: str = "moo.linear") -> None:
        super().__init__(num_objectives)
        if weights is None:
            self.weights = uniform(self.num_objectives)
            return
        w = torch.as_tensor(weights, dtype=torch.float64).flatten()
        if w.numel() != self.num_objectives:
            raise ConfigError(f"{key}.weights", f"needs {self.num_objectives} values, got {w.numel()}")
        if not torch.isfinite(w).all() or (w < 0).any():
            raise ConfigError(f"{key}.weights", f"must be finite and >= 0, got {w.tolist()}")
        self.weights = w

    def compute(self, grams: GramInfo) -> Tensor:
        return self.weights.clone()


class MGDA(Weighting):
    """Exact MGDA on K: λ = argmin_{λ∈Δ} λᵀKλ (see ``mgda_weights_from_gram``)."""

    def compute(self, grams: GramInfo) -> Tensor:
        return mgda_weights_from_gram(grams.K)


class PCGrad(Weighting):
    """PCGrad (Yu et al. 2020) as coefficients on the rows, from the Gram.

    For each i, g_i^PC = g_i, then for j in a random order (j ≠ i): if ⟨g_i^PC, g_j⟩ < 0, subtract
    ⟨g_i^PC, g_j⟩/‖g_j‖² g_j. The direction is Σ_i g_i^PC = wᵀG (sum, as in the paper and torchjd).
    The orders come from a seeded ``torch.Generator`` whose state is checkpointed.
    """

    def __init__(self, num_objectives: int, seed: int = 0) -> None:
        super().__init__(num_objectives)
        self.generator = torch.Generator().manual_seed(int(seed))

    def compute(self, grams: GramInfo) -> Tensor:
        K, nonzero = normalized_gram(grams.K)
        m = self.num_objectives
        weights = torch.zeros(m, dtype=torch.float64)
        for i in range(m):
            order = torch.randperm(m, generator=self.generator).tolist()
            if not nonzero:
                continue  # draw anyway so the generator stream does not depend on the data
            coef = torch.zeros(m, dtype=torch.float64)
            coef[i] = 1.0
            for j in order:
                inner = float(K[j] @ coef)  # ⟨g_i^PC, g_j⟩
                if j != i and inner < 0 and K[j, j] > 0:
                    coef[j] -= inner / K[j, j]
            weights += coef
        return weights if nonzero else torch.ones(m, dtype=torch.float64)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])


class CAGrad(Weighting):
    """CAGrad (Liu et al. 2021): d = g0 + (√φ/‖g_w‖) g_w, g0 the mean gradient, φ = c²‖g0‖², with
    w = argmin_{w∈Δ} g_wᵀg0 + √φ ‖g_w‖ (solved by SLSQP in float64, as the official code).

    Weights: 1/M + (√φ/‖g_w‖) w, divided by (1 + c²) when ``rescale`` (official default).
    Differences from the official code: the Gram is trace-normalised (exact scale invariance)
    instead of the +1e-4 regularised scale; torchjd's CAGradWeighting needs cvxpy (not installed).
    """

    def __init__(self, num_objectives: int, c: float = 0.5, rescale: bool = True,
                 key: str = "moo.cagrad") -> None:
        super().__init__(num_objectives)
        if not c >= 0:
            raise ConfigError(f"{key}.c", f"must be >= 0, got {c!r}")
        self.c, self.rescale = float(c), bool(rescale)

    def compute(self, grams: GramInfo) -> Tensor:
        K, nonzero = normalized_gram(grams.K)
        m = self.num_objectives
        if not nonzero or m == 1 or self.c == 0:
            return uniform(m) / (1 + self.c**2 if self.rescale else 1.0)
        w = torch.from_numpy(cagrad_inner(K.numpy(), self.c))
        gw_norm = max(float(w @ K @ w), 0.0) ** 0.5
        g0_norm = max(float(K.mean()), 0.0) ** 0.5  # ‖g0‖² = 1ᵀK1/M²
        # g_w ≈ 0: the hull contains 0 (Pareto-stationary); fall back to the mean direction g0.
        coef = self.c * g0_norm / gw_norm if gw_norm > 1e-10 else 0.0
        weights = uniform(m) + coef * w
        return weights / (1 + self.c**2) if self.rescale else weights


def cagrad_inner(K: np.ndarray, c: float) -> np.ndarray:
    """argmin_{w∈Δ} wᵀK1/M + c‖g0‖·sqrt(wᵀKw) for a (normalised) Gram K (M×M), by SLSQP."""
    from scipy.optimize import minimize  # noqa: PLC0415 — keep scipy off the import path

    m = K.shape[0]
    b = K.mean(axis=1)
    r = c * max(float(K.mean()), 0.0) ** 0.5
    eps = 1e-14

    def fun(w: np.ndarray) -> tuple[float, np.ndarray]:
        q = max(float(w @ K @ w), 0.0) + eps
        return float(b @ w) + r * q**0.5, b + r * (K @ w) / q**0.5

    res = minimize(fun, np.full(m, 1.0 / m), jac=True, method="SLSQP", bounds=[(0.0, 1.0)] * m,
                   constraints=({"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(m)},),
                   options={"ftol": 1e-14, "maxiter": 500})
    w = np.clip(res.x, 0.0, None)
    return w / w.sum()


class UPGrad(Weighting):
    """UPGrad (Quinton & Rey 2024) via torchjd's ``UPGradWeighting`` (quadprog), on the
    trace-normalised Gram (torchjd's own normalisation zeroes Grams with trace < 1e-4)."""

    def __init__(self, num_objectives: int) -> None:
        super().__init__(num_objectives)
        from torchjd.aggregation import UPGradWeighting  # noqa: PLC0415 — heavy import, only when used

        self._impl = UPGradWeighting()

    def compute(self, grams: GramInfo) -> Tensor:
        K, nonzero = normalized_gram(grams.K)
        if not nonzero:
            return uniform(self.num_objectives)
        return self._impl(K).to(torch.float64)


WEIGHTINGS: dict[str, type[Weighting]] = {
    "linear": Linear, "mgda": MGDA, "modo": MoDo, "pcgrad": PCGrad, "cagrad": CAGrad, "upgrad": UPGrad,
}


def build_weighting(name: Any, num_objectives: int, key: str = "moo", **options: Any) -> Weighting:
    """A weighting by name (``linear``, ``mgda``, ``modo``, ``pcgrad``, ``cagrad``, ``upgrad``), or a torchjd
    Gramian weighting object (a copy of it: :class:`soups.moo.torchjd.TorchJDLevel`).

    ``options`` are the constructor's keyword arguments; unknown names or options → ConfigError at
    ``{key}.weighting`` / ``{key}.{name}.{option}``.

    >>> build_weighting("modo", 3, gamma=0.05).gamma
    0.05
    """
    if not isinstance(name, str):
        from .torchjd import TorchJDLevel, is_torchjd_weighting  # noqa: PLC0415 — imports torchjd when used

        if not is_torchjd_weighting(name) or options:
            raise ConfigError(f"{key}.weighting", f"{name!r} is not a weighting name or a torchjd weighting "
                                                  "(options go to its constructor)", choices=sorted(WEIGHTINGS))
        try:
            return TorchJDLevel(num_objectives, name)
        except TypeError as err:
            raise ConfigError(f"{key}.weighting", str(err)) from None
    cls = WEIGHTINGS.get(str(name).lower())
    if cls is None:
        raise ConfigError(f"{key}.weighting", f"unknown weighting {name!r}", choices=sorted(WEIGHTINGS))
    params = inspect.signature(cls.__init__).parameters
    allowed = [p for p in params if p not in ("self", "num_objectives", "key")]
    for opt in options:
        if opt not in allowed:
            raise ConfigError(f"{key}.{str(name).lower()}.{opt}", "unknown option", choices=allowed)
    if "key" in params:
        options = {**options, "key": f"{key}.{str(name).lower()}"}
    return cls(num_objectives, **options)
