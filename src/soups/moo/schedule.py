"""Penalty schedules η(epoch, step) of the multilevel formulations (docs/method.md, "Penalty schedules").

η = min(cap, initial + increase · t) with t the epoch or the step, as the config says. The state is
derivable from (epoch, step): nothing to checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..errors import ConfigError

UNITS = ("epoch", "step")


@dataclass(frozen=True)
class PenaltySchedule:
    """η(t) = min(cap, initial + increase·t), t = epoch or step (``unit``).

    Paper values: VC η: 0 → +0.02/epoch → cap 1.5; VM η1 from 0.1 and η2 from 0, +0.02/epoch, cap 1.5.

    >>> PenaltySchedule(initial=0.1, increase=0.02, cap=1.5).value(epoch=10)
    0.30000000000000004
    >>> PenaltySchedule(0.0, 0.02, 1.5).value(epoch=1000)
    1.5
    """

    initial: float = 0.0
    increase: float = 0.02
    cap: float = 1.5
    unit: str = "epoch"
    key: str = "moo.penalties[0]"

    def __post_init__(self) -> None:
        for name in ("initial", "increase", "cap"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"{self.key}.{name}", f"must be a finite number, got {value!r}")
            if value < 0:
                raise ConfigError(f"{self.key}.{name}", f"must be >= 0, got {value!r}")
        if self.cap < self.initial:
            raise ConfigError(f"{self.key}.cap", f"cap {self.cap} is below the initial value {self.initial}")
        if self.unit not in UNITS:
            raise ConfigError(f"{self.key}.unit", f"unknown unit {self.unit!r}", choices=UNITS)

    @classmethod
    def from_dict(cls, config: Mapping[str, Any] | PenaltySchedule, key: str = "moo.penalties[0]") -> PenaltySchedule:
        """From a config mapping ``{"initial", "increase", "cap", "unit"}``; unknown keys → ConfigError."""
        if isinstance(config, PenaltySchedule):
            return config
        if not isinstance(config, Mapping):
            raise ConfigError(key, f"must be a mapping with initial/increase/cap/unit, got {config!r}")
        known = [f.name for f in fields(cls) if f.name != "key"]
        for name in config:
            if name not in known:
                raise ConfigError(f"{key}.{name}", "unknown penalty option", choices=known)
        return cls(**dict(config), key=key)

    def value(self, epoch: float = 0, step: int = 0) -> float:
        """η at this (0-based) epoch and global step."""
        t = epoch if self.unit == "epoch" else step
        return min(self.cap, self.initial + self.increase * t)

    def to_dict(self) -> dict[str, Any]:
        return {"initial": self.initial, "increase": self.increase, "cap": self.cap, "unit": self.unit}
