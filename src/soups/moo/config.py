"""The ``moo`` section of an experiment config (YAML ``moo:``): how the objectives' gradients are combined on the
shared encoder. Validated at load by :mod:`soups.train.config` (errors name the dotted key); turned into a
:class:`soups.moo.MultiObjective` by ``soups.train.build.build_moo``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from soups.config_schema import check_ranges
from soups.errors import ConfigError


@dataclass
class LayerSelectionConfig:
    refresh_every: int = 50          # steps between full per-layer conflict probes
    threshold: float = 0.0           # a layer conflicts when its cosine statistic is below this
    rule: Literal["min", "mean"] = "min"
    statistic: Literal["accumulated", "per_step"] = "accumulated"   # the paper's (sums over probes) | one probe
    fixed: list[str] | None = None   # layer groups always treated as conflicting (no probes), e.g. [frontend, block.0]
    apply: Literal["layers", "encoder"] = "layers"   # λ per conflicting layer | λ from their Gram, whole encoder
    # > 0: probes stream every gradient into a k-column count sketch per layer (cosines within ~1/√k; memory of a
    # plain step), 0: exact probes holding every layer's rows at once (faithful MoDo's memory peak)
    probe_sketch_k: int = 0

    def validate(self, prefix: str) -> None:
        check_ranges(self, prefix, {"refresh_every": ">=1", "threshold": "-1..1", "probe_sketch_k": ">=0"})


@dataclass
class SketchConfig:
    k: int = 0                       # > 0: faithful mode estimates the Gram from k-column sketches (0: exact)
    kind: Literal["countsketch", "gaussian", "rademacher"] = "countsketch"


@dataclass
class MooConfig:
    """How objective gradients are combined on the shared encoder.

    ``mode``: ``linear`` (static weights, one backward: the baseline), ``faithful`` (exact per-objective
    gradients of every shared parameter), ``layers`` (exact gradients only for conflicting layers, refreshed
    every ``layers.refresh_every`` steps), ``fast`` (per-objective gradients at the encoder output only, then
    one encoder backward). ``hierarchy`` is a :class:`soups.moo.HierarchyConfig` mapping (formulation
    vs|vc|vm, levels, penalties, weighting and its options).
    """

    mode: Literal["linear", "faithful", "layers", "fast"] = "linear"
    hierarchy: dict[str, Any] = field(default_factory=dict)
    double_sampling: Literal["halves", "none"] = "halves"
    # linear mode: each head gets its own objective's gradient ("own", as in every other mode and the method),
    # or w_m times it ("weighted": one backward of Σ w_m l_m, for ablations)
    linear_heads: Literal["own", "weighted"] = "own"
    update_every: int = 1            # recompute the weights every N steps (reuse them in between)
    batched_vjp: bool = False        # faithful/layers: per-objective gradients in one vmapped backward
    layers: LayerSelectionConfig = field(default_factory=LayerSelectionConfig)
    sketch: SketchConfig = field(default_factory=SketchConfig)

    def validate(self, prefix: str) -> None:
        if self.update_every < 1:
            raise ConfigError(f"{prefix}.update_every", "must be >= 1")
        if self.sketch.k < 0:
            raise ConfigError(f"{prefix}.sketch.k", f"must be >= 0 (0: exact Gram), got {self.sketch.k}")
        if self.sketch.k > 0 and self.mode != "faithful":
            raise ConfigError(f"{prefix}.sketch.k", f"a sketched Gram needs {prefix}.mode faithful, got "
                                                    f"{self.mode!r}")
