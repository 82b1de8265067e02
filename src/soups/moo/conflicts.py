"""Running statistics of gradient conflicts between objectives (METHOD.md, "Conflict diagnostics").

cos ω_ij = ⟨∇l_i, ∇l_j⟩ / (‖∇l_i‖‖∇l_j‖), averaged over many steps (sum of cosines / count), for the
whole model and per layer, plus the mean Gram. A pair whose cosine is undefined at a step (a zero
gradient) is counted in ``undefined`` and left out of the mean, never turned into NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from .base import GramInfo, cosine_from_gram

MODEL = "__model__"  # the key of the whole-model statistics


class _Accumulator:
    def __init__(self, m: int) -> None:
        self.steps = 0
        self.cos_sum = torch.zeros(m, m, dtype=torch.float64)
        self.count = torch.zeros(m, m, dtype=torch.int64)
        self.undefined = torch.zeros(m, m, dtype=torch.int64)
        self.gram_sum = torch.zeros(m, m, dtype=torch.float64)

    def add(self, K: Tensor) -> None:
        cos, defined = cosine_from_gram(K)
        self.steps += 1
        self.cos_sum += torch.where(defined, cos, torch.zeros_like(cos))
        self.count += defined.to(torch.int64)
        self.undefined += (~defined).to(torch.int64)
        self.gram_sum += K.detach().to(device="cpu", dtype=torch.float64)

    def mean_cosine(self) -> Tensor:
        nan = torch.full_like(self.cos_sum, float("nan"))
        return torch.where(self.count > 0, self.cos_sum / self.count.clamp(min=1), nan)

    def to_json(self) -> dict[str, Any]:
        mean = self.mean_cosine()
        return {"steps": self.steps,
                "mean_cosine": [[None if v != v else v for v in row] for row in mean.tolist()],
                "cosine_sum": self.cos_sum.tolist(), "count": self.count.tolist(),
                "undefined": self.undefined.tolist(),
                "mean_gram": (self.gram_sum / max(self.steps, 1)).tolist(), "gram_sum": self.gram_sum.tolist()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> _Accumulator:
        acc = cls(len(data["count"]))
        acc.steps = int(data["steps"])
        acc.cos_sum = torch.tensor(data["cosine_sum"], dtype=torch.float64)
        acc.count = torch.tensor(data["count"], dtype=torch.int64)
        acc.undefined = torch.tensor(data["undefined"], dtype=torch.int64)
        acc.gram_sum = torch.tensor(data["gram_sum"], dtype=torch.float64)
        return acc


class ConflictStats:
    """Running pairwise-cosine statistics over steps, whole model and per layer.

    >>> stats = ConflictStats(["a", "b"])
    >>> stats.update(torch.tensor([[1.0, -1.0], [-1.0, 4.0]]))
    >>> stats.update(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))     # b's gradient is zero: undefined
    >>> round(stats.mean_cosine()[0, 1].item(), 6), stats.to_json()["layers"][MODEL]["undefined"][0][1]
    (-0.5, 1)
    """

    def __init__(self, names: Sequence[str]) -> None:
        if not names or len(set(names)) != len(names):
            raise ValueError(f"objective names must be unique and non-empty, got {list(names)}")
        self.names = list(names)
        self._acc: dict[str, _Accumulator] = {}

    def _check(self, K: Tensor | GramInfo) -> Tensor:
        K = K.K if isinstance(K, GramInfo) else K
        m = len(self.names)
        if K.shape != (m, m):
            raise ValueError(f"expected an {m}×{m} Gram, got {tuple(K.shape)}")
        return K

    def update(self, K: Tensor | GramInfo, layer: str | None = None) -> None:
        """Add one step's Gram (M×M) for the whole model (``layer=None``) or one layer."""
        key = MODEL if layer is None else layer
        self._acc.setdefault(key, _Accumulator(len(self.names))).add(self._check(K))

    def update_layers(self, grams: Mapping[str, Tensor | GramInfo], model: bool = True) -> None:
        """Add one step's per-layer Grams; with ``model`` also their sum as the whole-model Gram."""
        total = None
        for name, g in grams.items():
            K = self._check(g)
            self.update(K, name)
            total = K.detach().double().cpu() if total is None else total + K.detach().double().cpu()
        if model and total is not None:
            self.update(total)

    @property
    def layers(self) -> list[str]:
        return [name for name in self._acc if name != MODEL]

    def mean_cosine(self, layer: str | None = None) -> Tensor:
        """Mean cosine (M×M float64) over the steps where it was defined; NaN where it never was."""
        return self._acc[MODEL if layer is None else layer].mean_cosine()

    def mean_gram(self, layer: str | None = None) -> Tensor:
        acc = self._acc[MODEL if layer is None else layer]
        return acc.gram_sum / max(acc.steps, 1)

    def conflicting_pairs(self, threshold: float = 0.0, layer: str | None = None) -> list[tuple[str, str, float]]:
        """Pairs (name_i, name_j, mean cosine) with mean cosine < threshold, most conflicting first."""
        mean = self.mean_cosine(layer)
        m = len(self.names)
        pairs = [(self.names[i], self.names[j], float(mean[i, j])) for i in range(m) for j in range(i + 1, m)
                 if mean[i, j] == mean[i, j] and mean[i, j] < threshold]
        return sorted(pairs, key=lambda p: p[2])

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict: names and, per layer (``__model__`` for the whole model), the statistics."""
        return {"names": self.names, "layers": {name: acc.to_json() for name, acc in self._acc.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConflictStats:
        stats = cls(data["names"])
        stats._acc = {name: _Accumulator.from_json(d) for name, d in data["layers"].items()}
        return stats

    state_dict = to_json

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.names = list(state["names"])
        self._acc = {name: _Accumulator.from_json(d) for name, d in state["layers"].items()}
