"""Running statistics of gradient conflicts between objectives (docs/method.md, "Conflict diagnostics").

Two statistics, for the whole model and per layer:

``accumulated`` (the paper's, Appendix C; the default): the gradients are summed over the steps per
    objective and ONE cosine is taken, cos(Σ_t g_i^t, Σ_t g_j^t). Needs the per-objective gradients
    (:meth:`ConflictStats.update_gradients`), whose running sums it keeps (M × P per layer).
``per_step``: the mean over steps of each step's cosine ⟨g_i^t, g_j^t⟩ / (‖g_i^t‖‖g_j^t‖); needs only
    the step's Gram. Noise makes per-step gradients look more orthogonal than their means: the two can
    differ in sign (tests/moo/test_moo_conflicts.py has such a case).

A pair whose cosine is undefined at a step (a zero gradient) is counted in ``undefined`` and left out of
the per-step mean, never turned into NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from .base import GramInfo, cosine_from_gram

MODEL = "__model__"  # the key of the whole-model statistics
STATISTICS = ("accumulated", "per_step")


class _Accumulator:
    def __init__(self, m: int) -> None:
        self.steps = 0
        self.cos_sum = torch.zeros(m, m, dtype=torch.float64)
        self.count = torch.zeros(m, m, dtype=torch.int64)
        self.undefined = torch.zeros(m, m, dtype=torch.int64)
        self.gram_sum = torch.zeros(m, m, dtype=torch.float64)
        self.grad_sum: Tensor | None = None        # Σ_t G^t (M × P_layer), float64 on CPU
        self.summed_gram: Tensor | None = None     # (Σ_t G^t)(Σ_t G^t)ᵀ, kept when the sums are not (JSON)

    def add_gradients(self, G: Tensor) -> None:
        G = G.detach().reshape(G.shape[0], -1).to(device="cpu", dtype=torch.float64)
        self.grad_sum = G.clone() if self.grad_sum is None else self.grad_sum + G
        self.summed_gram = None

    def accumulated_gram(self) -> Tensor | None:
        if self.grad_sum is not None:
            return self.grad_sum @ self.grad_sum.T
        return self.summed_gram

    def accumulated_cosine(self) -> Tensor | None:
        K = self.accumulated_gram()
        if K is None:
            return None
        cos, defined = cosine_from_gram(K)
        return torch.where(defined, cos, torch.full_like(cos, float("nan")))

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
        mean, acc, K = self.mean_cosine(), self.accumulated_cosine(), self.accumulated_gram()
        return {"steps": self.steps,
                "accumulated_cosine": None if acc is None else _nan_to_none(acc),
                "accumulated_gram": None if K is None else K.tolist(),
                "mean_cosine": _nan_to_none(mean),
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
        if data.get("accumulated_gram") is not None:
            acc.summed_gram = torch.tensor(data["accumulated_gram"], dtype=torch.float64)
        return acc


def _nan_to_none(mat: Tensor) -> list[list[float | None]]:
    return [[None if v != v else v for v in row] for row in mat.tolist()]


class ConflictStats:
    """Running pairwise-cosine statistics over steps, whole model and per layer (both statistics of the
    module docstring; JSON keeps the accumulated Gram, not the gradient sums).

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

    def update_gradients(self, blocks: Mapping[str, Tensor] | Tensor, model: bool = True) -> None:
        """Add one step's per-objective gradients: per layer ``{layer: G (M × P_layer)}`` (or one M×P tensor
        for the whole model). Feeds both statistics: the running gradient sums (``accumulated``) and the
        step's Grams (``per_step``); with ``model`` the layers also make up the whole-model statistics."""
        if isinstance(blocks, Tensor):
            self._rows(blocks)
            self.update(blocks.reshape(blocks.shape[0], -1) @ blocks.reshape(blocks.shape[0], -1).T)
            self._acc[MODEL].add_gradients(blocks)
            return
        grams = {}
        for name, G in blocks.items():
            G = self._rows(G)
            grams[name] = G @ G.T
            self._acc.setdefault(name, _Accumulator(len(self.names))).add_gradients(G)
        self.update_layers(grams, model=model)

    def _rows(self, G: Tensor) -> Tensor:
        if G.dim() < 1 or G.shape[0] != len(self.names):
            raise ValueError(f"expected {len(self.names)} gradient rows, got shape {tuple(G.shape)}")
        return G.detach().reshape(G.shape[0], -1)

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

    def accumulated_gram(self, layer: str | None = None) -> Tensor | None:
        """(Σ_t G^t)(Σ_t G^t)ᵀ (M×M float64): the Gram of the summed gradients; for the whole model the sum
        of the layers' (the Gram of a concatenation). None where no gradients were given."""
        acc = self._acc[MODEL if layer is None else layer]
        K = acc.accumulated_gram()
        if K is None and layer is None:
            parts = [a.accumulated_gram() for n, a in self._acc.items() if n != MODEL]
            K = sum(parts) if parts and all(k is not None for k in parts) else None
        return K

    def accumulated_cosine(self, layer: str | None = None) -> Tensor | None:
        """The paper's statistic: cos(Σ_t g_i^t, Σ_t g_j^t) (M×M float64; NaN where a sum is zero; None
        where only Grams were given)."""
        K = self.accumulated_gram(layer)
        if K is None:
            return None
        cos, defined = cosine_from_gram(K)
        return torch.where(defined, cos, torch.full_like(cos, float("nan")))

    def cosine(self, layer: str | None = None, statistic: str = "accumulated") -> Tensor:
        """The chosen statistic (:data:`STATISTICS`); ``accumulated`` needs :meth:`update_gradients`."""
        if statistic not in STATISTICS:
            raise ValueError(f"unknown conflict statistic {statistic!r}; choose from {STATISTICS}")
        if statistic == "per_step":
            return self.mean_cosine(layer)
        cos = self.accumulated_cosine(layer)
        if cos is None:
            raise ValueError("the accumulated statistic needs the gradients (update_gradients), not only Grams")
        return cos

    def mean_gram(self, layer: str | None = None) -> Tensor:
        acc = self._acc[MODEL if layer is None else layer]
        return acc.gram_sum / max(acc.steps, 1)

    def conflicting_pairs(self, threshold: float = 0.0, layer: str | None = None,
                          statistic: str = "accumulated") -> list[tuple[str, str, float]]:
        """Pairs (name_i, name_j, cosine) with cosine < threshold, most conflicting first."""
        mean = self.cosine(layer, statistic)
        m = len(self.names)
        pairs = [(self.names[i], self.names[j], float(mean[i, j])) for i in range(m) for j in range(i + 1, m)
                 if mean[i, j] == mean[i, j] and mean[i, j] < threshold]
        return sorted(pairs, key=lambda p: p[2])

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict: names and, per layer (``__model__`` for the whole model), the statistics."""
        layers = {name: acc.to_json() for name, acc in self._acc.items()}
        if MODEL in layers and layers[MODEL]["accumulated_gram"] is None:
            K = self.accumulated_gram()
            if K is not None:
                layers[MODEL]["accumulated_gram"] = K.tolist()
                layers[MODEL]["accumulated_cosine"] = _nan_to_none(self.accumulated_cosine())
        return {"names": self.names, "layers": layers}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConflictStats:
        stats = cls(data["names"])
        stats._acc = {name: _Accumulator.from_json(d) for name, d in data["layers"].items()}
        return stats

    state_dict = to_json

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.names = list(state["names"])
        self._acc = {name: _Accumulator.from_json(d) for name, d in state["layers"].items()}
