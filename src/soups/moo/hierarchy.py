"""VS/VC/VM formulations as data: levels of objectives, one weighting per level, penalty schedules.

docs/method.md, "The three formulations" (the paper's Eq. 5/13, 7/15, 8/16/25): the shared direction is
    d = Σ_{level 1} λ g + η1 ( Σ_{level 2} λ g + η2 ( … + η_{P−1} Σ_{level P} λ g ) ),
i.e. per-objective weights w_m = (Π_{q<p} η_q) · λ^{(p)}_m for m in level p.
VS: one level with everything. VC: supervised level + SSL penalty level. VM: any P ≥ 1 levels.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError
from .base import GramInfo
from .presets import PRESETS, preset_levels
from .schedule import PenaltySchedule
from .weighting import WEIGHTINGS, build_weighting

FORMULATIONS = ("vs", "vc", "vm")
_KEYS = ("formulation", "levels", "penalties", "weighting", "weighting_options")


@dataclass
class HierarchyConfig:
    """Config of a hierarchy. ``levels``: list of lists of objective names (top first), a preset name
    (``uas``, ``usa``, ``uec``, ``uce``) or None (VS: all; VC: supervised / SSL). ``penalties``: P−1
    schedules (None: the paper's defaults). Weighting options live under ``weighting_options`` or
    under the weighting's own name (``{"weighting": "modo", "modo": {"gamma": 0.1}}``).
    """

    formulation: str = "vs"
    levels: list[list[str]] | str | None = None
    penalties: list[PenaltySchedule] | None = None
    weighting: Any = "modo"           # a name of WEIGHTINGS, or a torchjd Gramian weighting (soups.moo.torchjd)
    weighting_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, config: Mapping[str, Any], key: str = "moo", ignore: Collection[str] = ()) -> HierarchyConfig:
        """From a config mapping; unknown keys (not in ``ignore``) → ConfigError."""
        for name in config:
            if name not in _KEYS and name not in WEIGHTINGS and name not in ignore:
                raise ConfigError(f"{key}.{name}", "unknown key", choices=list(_KEYS))
        weighting = config.get("weighting", "modo")  # a name, or a torchjd Gramian weighting object
        weighting = str(weighting).lower() if isinstance(weighting, str) else weighting
        options: dict[str, Any] = {}
        for name in ("weighting_options",) + ((weighting,) if isinstance(weighting, str) else ()):
            value = config.get(name) or {}
            if not isinstance(value, Mapping):
                raise ConfigError(f"{key}.{name}", f"must be a mapping of options, got {value!r}")
            options.update(value)
        penalties = config.get("penalties")
        if penalties is not None:
            if not isinstance(penalties, Sequence) or isinstance(penalties, str):
                raise ConfigError(f"{key}.penalties", f"must be a list of schedules, got {penalties!r}")
            penalties = [PenaltySchedule.from_dict(p, key=f"{key}.penalties[{i}]") for i, p in enumerate(penalties)]
        return cls(formulation=str(config.get("formulation", "vs")).lower(), levels=config.get("levels"),
                   penalties=penalties, weighting=weighting, weighting_options=options)


def default_penalties(formulation: str, num_levels: int, key: str = "moo") -> list[PenaltySchedule]:
    """The paper's schedules: VC η 0 → +0.02/epoch → 1.5; VM η1 from 0.1, the others from 0."""
    if formulation == "vs" or num_levels <= 1:
        return []
    first = 0.1 if formulation == "vm" else 0.0
    return [PenaltySchedule(first if p == 0 else 0.0, 0.02, 1.5, "epoch", key=f"{key}.penalties[{p}]")
            for p in range(num_levels - 1)]


class Hierarchy:
    """Levels of objectives with a weighting per level and penalty schedules between levels.

    >>> h = Hierarchy({"formulation": "vm", "levels": [["a", "b"], ["c"], ["u"]], "weighting": "linear"},
    ...               ["a", "b", "c", "u"], ssl=["u"])
    >>> h.static_weights(epoch=10).tolist()    # η1 = 0.1 + 0.2, η2 = 0.2: [½, ½, η1, η1·η2]
    [0.5, 0.5, 0.30000000000000004, 0.06000000000000001]
    """

    def __init__(self, config: HierarchyConfig | Mapping[str, Any], objectives: Sequence[str],
                 ssl: Collection[str] = (), tags: Mapping[str, Mapping[str, str]] | None = None,
                 key: str = "moo", static: bool = False) -> None:
        self.config = config if isinstance(config, HierarchyConfig) else HierarchyConfig.from_dict(config, key)
        self.objectives, self.ssl, self.tags, self.key = list(objectives), set(ssl), tags, key
        if len(set(self.objectives)) != len(self.objectives) or not self.objectives:
            raise ValueError(f"objective names must be unique and non-empty, got {self.objectives}")
        if not self.ssl <= set(self.objectives):
            raise ValueError(f"SSL objectives {sorted(self.ssl - set(self.objectives))} are not objectives")
        self.is_static = static
        self.levels = self._resolve_levels()
        self.schedules = self._resolve_penalties()
        position = {name: i for i, name in enumerate(self.objectives)}
        self.index = [[position[name] for name in level] for level in self.levels]
        name = "linear" if static else self.config.weighting
        options = {} if static else self.config.weighting_options
        self.weightings = [build_weighting(name, len(level), key=key, **options) for level in self.levels]
        self.last_lambdas: list[Tensor | None] = [None] * len(self.levels)

    @classmethod
    def single_level(cls, objectives: Sequence[str], weighting: str = "modo", **options: Any) -> Hierarchy:
        """VS: one level with every objective, e.g. a plain MoDo over all of them."""
        return cls(HierarchyConfig("vs", None, None, weighting, options), objectives)

    # ---- structure -------------------------------------------------------------------------------
    def _resolve_levels(self) -> list[list[str]]:
        cfg, key = self.config, self.key
        if cfg.formulation not in FORMULATIONS:
            raise ConfigError(f"{key}.formulation", f"unknown formulation {cfg.formulation!r}", choices=FORMULATIONS)
        levels: Any = cfg.levels
        if isinstance(levels, str):
            levels = preset_levels(levels, self.objectives, self.tags, self.ssl, key=f"{key}.levels")
        elif levels is None:
            levels = self._default_levels()
        if not isinstance(levels, Sequence) or not all(isinstance(lv, Sequence) and not isinstance(lv, str)
                                                       for lv in levels):
            raise ConfigError(f"{key}.levels", "must be a list of lists of objective names (or a preset name)",
                              choices=sorted(PRESETS))
        levels = [list(level) for level in levels]
        expected = {"vs": 1, "vc": 2}.get(cfg.formulation)
        if expected is not None and len(levels) != expected:
            raise ConfigError(f"{key}.levels", f"{cfg.formulation} has {expected} level(s), got {len(levels)}")
        self._validate_levels(levels)
        return levels

    def _default_levels(self) -> list[list[str]]:
        cfg, key = self.config, self.key
        if cfg.formulation == "vs":
            return [list(self.objectives)]
        if cfg.formulation == "vm":
            raise ConfigError(f"{key}.levels", "vm needs its levels (lists of objective names or a preset)",
                              choices=sorted(PRESETS))
        supervised = [o for o in self.objectives if o not in self.ssl]
        unsupervised = [o for o in self.objectives if o in self.ssl]
        if not supervised or not unsupervised:
            raise ConfigError(f"{key}.formulation", "vc needs supervised objectives and at least one SSL "
                              "objective (its penalty level), or explicit levels")
        return [supervised, unsupervised]

    def _validate_levels(self, levels: list[list[str]]) -> None:
        key, seen = self.key, {}
        for p, level in enumerate(levels):
            if not level:
                raise ConfigError(f"{key}.levels[{p}]", f"level {p + 1} is empty")
            for name in level:
                if name not in self.objectives:
                    raise ConfigError(f"{key}.levels[{p}]", f"unknown objective {name!r}", choices=self.objectives)
                if name in seen:
                    raise ConfigError(f"{key}.levels[{p}]", f"objective {name!r} is already in level {seen[name] + 1}")
                seen[name] = p
        missing = [o for o in self.objectives if o not in seen]
        if missing:
            raise ConfigError(f"{key}.levels", f"objective(s) {missing} are in no level")
        for p, level in enumerate(levels[:-1]):
            for name in level:
                if name in self.ssl:  # docs/method.md: l_u is always at the lowest level
                    warnings.warn(f"config key '{key}.levels[{p}]': SSL objective {name!r} is at level {p + 1}, "
                                  f"not the lowest ({len(levels)})", stacklevel=4)

    def _resolve_penalties(self) -> list[PenaltySchedule]:
        needed = len(self.levels) - 1
        if self.config.penalties is None:
            return default_penalties(self.config.formulation, len(self.levels), self.key)
        schedules = [PenaltySchedule.from_dict(p, key=f"{self.key}.penalties[{i}]")
                     for i, p in enumerate(self.config.penalties)]
        if len(schedules) != needed:
            raise ConfigError(f"{self.key}.penalties", f"{len(self.levels)} level(s) need {needed} penalty "
                              f"schedule(s), got {len(schedules)}")
        return schedules

    @property
    def num_objectives(self) -> int:
        return len(self.objectives)

    @property
    def needs_cross(self) -> bool:
        """Whether ``weights`` needs K12 (some level has a double-sampling weighting over ≥ 2 objectives)."""
        return any(w.needs_cross for w in self.weightings)

    # ---- weights ---------------------------------------------------------------------------------
    def penalty_values(self, epoch: float = 0, step: int = 0) -> list[float]:
        """η_1 … η_{P−1} at this epoch/step."""
        return [s.value(epoch, step) for s in self.schedules]

    def level_scales(self, epoch: float = 0, step: int = 0) -> list[float]:
        """Scale of each level: 1, η1, η1·η2, … (docs/method.md, "Penalty schedules": η = η1·η2·…)."""
        scales = [1.0]
        for eta in self.penalty_values(epoch, step):
            scales.append(scales[-1] * eta)
        return scales

    def weights(self, grams: GramInfo, epoch: float = 0, step: int = 0) -> Tensor:
        """Per-objective weights w (M,) from the Gram info over all M objectives (sliced per level)."""
        if grams.num_objectives != self.num_objectives:
            raise ValueError(f"hierarchy has {self.num_objectives} objectives, got a Gram of {grams.num_objectives}")
        return self.weights_from_levels([grams.sub(idx) for idx in self.index], epoch, step)

    def weights_from_levels(self, level_grams: Sequence[GramInfo], epoch: float = 0, step: int = 0) -> Tensor:
        """Per-objective weights w (M,) from one Gram info per level; updates the levels' states."""
        if len(level_grams) != len(self.levels):
            raise ValueError(f"{len(self.levels)} levels, got {len(level_grams)} Gram infos")
        scales = self.level_scales(epoch, step)
        w = torch.zeros(self.num_objectives, dtype=torch.float64)
        for p, (idx, weighting, g) in enumerate(zip(self.index, self.weightings, level_grams)):
            g64 = GramInfo(g.K.detach().double().cpu(), None if g.K12 is None else g.K12.detach().double().cpu())
            lam = weighting(g64)
            self.last_lambdas[p] = lam
            w[idx] = scales[p] * lam
        return w.to(dtype=level_grams[0].K.dtype, device=level_grams[0].K.device)

    def static_weights(self, epoch: float = 0, step: int = 0) -> Tensor:
        """Weights with uniform λ = 1/|level| in each level and the same penalties (float64, (M,))."""
        scales = self.level_scales(epoch, step)
        w = torch.zeros(self.num_objectives, dtype=torch.float64)
        for p, idx in enumerate(self.index):
            w[idx] = scales[p] / len(idx)
        return w

    # ---- copies and state ------------------------------------------------------------------------
    def static(self) -> Hierarchy:
        """The same levels and penalties with uniform λ in each level ("joint PT+FT without MOO")."""
        return Hierarchy(self.config, self.objectives, self.ssl, self.tags, self.key, static=True)

    def fresh(self) -> Hierarchy:
        """A copy with fresh weighting states (e.g. one per conflicting layer)."""
        return Hierarchy(self.config, self.objectives, self.ssl, self.tags, self.key, static=self.is_static)

    def describe(self, epoch: float = 0, step: int = 0) -> dict[str, Any]:
        """A JSON-able summary (levels, penalties now, weighting) for logs."""
        return {"formulation": self.config.formulation, "levels": self.levels,
                "weighting": "linear" if self.is_static else str(self.config.weighting),
                "penalties": [s.to_dict() for s in self.schedules], "eta": self.penalty_values(epoch, step)}

    def state_dict(self) -> dict[str, Any]:
        return {"levels": [list(lv) for lv in self.levels], "weightings": [w.state_dict() for w in self.weightings]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if [list(lv) for lv in state["levels"]] != self.levels:
            raise ValueError(f"checkpointed levels {state['levels']} differ from the configured {self.levels}")
        for weighting, ws in zip(self.weightings, state["weightings"]):
            weighting.load_state_dict(ws)
