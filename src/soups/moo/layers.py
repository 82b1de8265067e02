"""Layer-wise conflict selection (docs/method.md, "Layer-wise conflict selection").

Per layer (a block of shared parameters), pairwise cosine similarities of the objective gradients;
a layer is conflicting when the min (rule "min") or mean (rule "mean") off-diagonal cosine is below
a threshold (default 0). The cosine is the paper's conflict statistic by default (``statistic=
"accumulated"``: the gradients of every probe so far summed per objective, one cosine — one probe's
noisy gradients make nearly every layer look conflicting under the min rule), or the probe's own
(``"per_step"``). Conflicting layers get the dynamic hierarchy weights computed on that
layer's Gram only (own, persistent MoDo λ per layer); every other layer gets the static hierarchy
weights — and always an update (the authors' skeleton left them without one, a bug).
How often ``select`` runs (every K steps) is the trainer's choice.

A probe either hands over every layer's rows at once (:meth:`LayerSelector.select_from_blocks`: faithful MoDo's
memory peak) or, with ``sketch_k`` > 0, streams each objective's gradient into a k-column count sketch per
layer as it is computed (:meth:`LayerSelector.probe_sketches`, :meth:`LayerSelector.select_from_sketches`):
no layer's rows are held. The sketch Φ of each parameter is fixed for the whole run (seeded by ``seed`` and
the parameter's index in its layer), so the sketches of the probes add up to the sketch of the accumulated gradients and the
accumulated statistic stays unbiased — an M×k sum per layer instead of M×P.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError
from .base import GramInfo, cosine_from_gram
from .conflicts import STATISTICS
from .hierarchy import Hierarchy
from .sketch import GramSketch

RULES = ("min", "mean")


def conflict_score(K: Tensor, rule: str = "min") -> float | None:
    """Min or mean off-diagonal cosine similarity from a Gram K (M×M); None if no pair is defined
    (M = 1 or zero gradients)."""
    cos, defined = cosine_from_gram(K)
    off = defined & ~torch.eye(K.shape[0], dtype=torch.bool)
    if not off.any():
        return None
    values = cos[off]
    return float(values.min() if rule == "min" else values.mean())


def layer_grams(blocks1: Mapping[str, Tensor], blocks2: Mapping[str, Tensor] | None = None) -> dict[str, GramInfo]:
    """Per-layer Gram infos from per-layer gradient blocks (layer → M×P_layer), one or two samples."""
    return {name: GramInfo.from_jacobians(G1, None if blocks2 is None else blocks2[name])
            for name, G1 in blocks1.items()}


class LayerSelector:
    """Selects conflicting layers and gives per-layer weight vectors (M,).

    Args:
        hierarchy: the (dynamic) hierarchy; conflicting layers each get a fresh copy of it (own λ);
            the others get its static variant (uniform λ per level, same penalties).
        rule: "min" or "mean" off-diagonal cosine. threshold: conflicting if score < threshold.
        statistic: "accumulated" (running sums of the probes' gradients, :meth:`select_from_blocks`) or
            "per_step" (each probe alone).
        sketch_k: 0 (probes hand over exact rows) or the columns of the per-layer count sketches of streamed
            probes; ``seed`` fixes their Φ.

    >>> h = Hierarchy.single_level(["a", "b"], "modo")
    >>> sel = LayerSelector(h)
    >>> sorted(sel.select({"l0": torch.tensor([[1.0, -0.5], [-0.5, 1.0]]), "l1": torch.eye(2) + 0.5}))
    ['l0']
    >>> sel.weights_for("l1").tolist()
    [0.5, 0.5]
    """

    def __init__(self, hierarchy: Hierarchy, rule: str = "min", threshold: float = 0.0,
                 key: str = "moo.layer_selection", statistic: str = "accumulated", sketch_k: int = 0,
                 seed: int = 0) -> None:
        if rule not in RULES:
            raise ConfigError(f"{key}.rule", f"unknown rule {rule!r}", choices=RULES)
        if statistic not in STATISTICS:
            raise ConfigError(f"{key}.statistic", f"unknown statistic {statistic!r}", choices=STATISTICS)
        if not isinstance(threshold, (int, float)) or not math.isfinite(threshold) or not -1 <= threshold <= 1:
            raise ConfigError(f"{key}.threshold", f"must be a cosine in [-1, 1], got {threshold!r}")
        if not isinstance(sketch_k, int) or sketch_k < 0:
            raise ConfigError(f"{key}.probe_sketch_k", f"must be an integer >= 0 (0: exact probes), got {sketch_k!r}")
        self.hierarchy, self.rule, self.threshold, self.statistic = hierarchy, rule, float(threshold), statistic
        self.sketch_k, self.seed = sketch_k, int(seed)
        self._sketches: dict[str, GramSketch] = {}
        self.sums: dict[str, Tensor] = {}     # accumulated statistic: Σ over probes of each layer's rows (M×P or M×k)
        self.fixed: frozenset[str] | None = None  # a selection given by the user (:meth:`fix`): no probes
        self.static = hierarchy.static()
        self.selected: frozenset[str] = frozenset()
        self.scores: dict[str, float | None] = {}
        self._dynamic: dict[str, Hierarchy] = {}

    def fix(self, layers) -> None:
        """Always treat ``layers`` as conflicting: no probes are needed (e.g. the early blocks, where the paper
        finds the conflicts)."""
        self.fixed = frozenset(layers)
        self.selected = self.fixed

    def select(self, grams: Mapping[str, GramInfo | Tensor]) -> frozenset[str]:
        """Recompute the selection from per-layer Grams (GramInfo, or an M×M Gram tensor)."""
        self.scores = {}
        for name, g in grams.items():
            K = g.K if isinstance(g, GramInfo) else g
            self.scores[name] = conflict_score(K, self.rule)
        self.selected = frozenset(n for n, s in self.scores.items() if s is not None and s < self.threshold)
        return self.selected

    def select_from_blocks(self, blocks: Mapping[str, Tensor]) -> frozenset[str]:
        """Select from one probe's per-layer gradient rows (layer → M×P_layer): with the accumulated
        statistic they are added to the running sums and the sums' Grams decide; else this probe's."""
        if self.statistic == "per_step":
            return self.select(layer_grams(blocks))
        for name, G in blocks.items():
            G = G.detach().reshape(G.shape[0], -1)
            self.sums[name] = G.clone() if name not in self.sums else self.sums[name] + G
        return self.select({name: S @ S.T for name, S in self.sums.items() if name in blocks})

    def probe_sketches(self, layers) -> dict[str, GramSketch]:
        """Empty per-layer sketches for a streamed probe (``sketch_k`` > 0): feed them with
        ``add_row(objective, parameter index in the layer, gradient, sample)``; Φ is the same at every probe."""
        for name in layers:
            if name not in self._sketches:
                self._sketches[name] = GramSketch(self.hierarchy.num_objectives, self.sketch_k,
                                                  seed=self.seed, key=f"layer {name}")
            self._sketches[name].S1 = self._sketches[name].S2 = None
        return {name: self._sketches[name] for name in layers}

    def select_from_sketches(self, sketches: Mapping[str, GramSketch]) -> frozenset[str]:
        """Select from one streamed probe (:meth:`probe_sketches`, filled): its sketched Grams, or with the
        accumulated statistic the running sums of the sketched rows (mean of the two samples)."""
        if self.statistic == "per_step":
            return self.select({name: sk.gram_info() for name, sk in sketches.items()})
        for name, sk in sketches.items():
            S = sk.S1 if sk.S2 is None else (sk.S1 + sk.S2) / 2
            self.sums[name] = S.clone() if name not in self.sums else self.sums[name] + S
        return self.select({name: S @ S.T for name, S in self.sums.items() if name in sketches})

    def is_conflicting(self, layer: str) -> bool:
        return layer in self.selected

    def weights_for(self, layer: str, grams: GramInfo | None = None, epoch: float = 0, step: int = 0) -> Tensor:
        """Weights (M,) for one layer: dynamic on that layer's Gram if conflicting, else static.

        A conflicting layer needs its Gram info (with K12 for MoDo) and advances its own λ.
        """
        if layer in self.selected:
            if grams is None:
                raise ValueError(f"layer {layer!r} is conflicting: its Gram info is needed")
            if layer not in self._dynamic:
                self._dynamic[layer] = self.hierarchy.fresh()
            return self._dynamic[layer].weights(grams, epoch, step)
        w = self.static.static_weights(epoch, step)
        return w if grams is None else w.to(dtype=grams.K.dtype, device=grams.K.device)

    def weights(self, grams: Mapping[str, GramInfo | None], epoch: float = 0, step: int = 0) -> dict[str, Tensor]:
        """Weights for every layer named in ``grams`` (non-conflicting layers may map to None)."""
        return {name: self.weights_for(name, g, epoch, step) for name, g in grams.items()}

    def state_dict(self) -> dict[str, Any]:
        return {"selected": sorted(self.selected), "scores": dict(self.scores),
                "layers": {name: h.state_dict() for name, h in self._dynamic.items()},
                "sums": dict(self.sums)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.selected = self.fixed if self.fixed is not None else frozenset(state["selected"])
        self.scores = dict(state.get("scores", {}))
        self.sums = dict(state.get("sums") or {})
        self._dynamic = {}
        for name, hs in state["layers"].items():
            self._dynamic[name] = self.hierarchy.fresh()
            self._dynamic[name].load_state_dict(hs)
