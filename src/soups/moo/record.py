"""What one multi-objective backward did: the typed record the engine returns for every step.

The trainer logs it (``scalars()``), :class:`soups.moo.MultiObjective` hands it to its users, the bench and
``soups conflicts`` read its Gram. Names follow the hierarchy's objective order.

>>> import torch
>>> r = StepRecord(names=["asr", "st"], weights=torch.tensor([0.75, 0.25]), penalties=[0.3])
>>> r.weight("st"), r.scalars()["w/asr"], r.scalars()["eta/1"]
(0.25, 0.75, 0.3)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor

from .base import cosine_from_gram


@dataclass
class StepRecord:
    """One step of the gradient engine.

    ``weights`` (M,): w_m, what objective m's gradient is multiplied by on the shared parameters (λ times the
    level's penalty scale; the static weights in linear mode and on dropped steps). ``lambdas[p]``: the λ of
    level p's weighting when it ran this step (None otherwise). ``penalties``: η_1 … η_{P−1}. ``updated``:
    whether the dynamic weights were recomputed (False when reused: ``update_every``, or a dropped
    objective). ``gram`` (M×M): K = G Gᵀ of the per-objective gradients when computed (faithful, or a layer
    probe). ``selected``/``layer_scores``: layer selection. ``dropped``: objective → what was not finite
    (``"loss"``/``"gradient"``); such an objective had no part in the step (weight 0, head not updated) and λ
    was left as it was."""

    names: list[str]
    weights: Tensor
    step: int = 0
    epoch: float = 0
    mode: str = "linear"
    updated: bool = False
    lambdas: list[Tensor | None] = field(default_factory=list)
    penalties: list[float] = field(default_factory=list)
    gram: Tensor | None = None
    selected: list[str] | None = None
    layer_scores: dict[str, float] | None = None
    dropped: dict[str, str] = field(default_factory=dict)

    def weight(self, name: str) -> float:
        return float(self.weights[self.names.index(name)])

    def cosines(self) -> Tensor | None:
        """Pairwise cosines of the objectives' gradients (M×M, float64) from ``gram``, if it was computed."""
        return None if self.gram is None else cosine_from_gram(self.gram)[0]

    def scalars(self, levels: list[list[int]] | None = None) -> dict[str, float]:
        """Flat scalars for a log: ``w/NAME``, ``eta/P``, ``lambda/NAME`` (levels whose weighting ran; ``levels``
        maps level p to its objectives' indices), ``dropped/NAME``."""
        out = {f"w/{n}": float(w) for n, w in zip(self.names, self.weights.tolist())}
        out.update({f"eta/{i + 1}": float(eta) for i, eta in enumerate(self.penalties)})
        for idx, lam in zip(levels or [], self.lambdas):
            if lam is not None:
                out.update({f"lambda/{self.names[m]}": float(v) for m, v in zip(idx, lam.tolist())})
        out.update({f"dropped/{n}": 1.0 for n in self.dropped})
        return out
