"""Interop with torchjd (imported only when these are used: ``soups.moo`` itself needs torch alone).

Both libraries reduce a step to weights from the Gram matrix of the objectives' gradients, so each side's
weightings work in the other:

- :func:`from_torchjd` — a torchjd *Gramian* weighting (``UPGradWeighting``, ``MGDAWeighting``, ``DualProjWeighting``,
  ``PCGradWeighting``, …) as the weighting of a soups hierarchy level; pass it as ``hierarchy={"weighting":
  torchjd.aggregation.UPGradWeighting()}`` (each level gets its own copy). torchjd weightings that read the
  Jacobian itself (``MeanWeighting``, torchjd's ``MoDoWeighting``, …) cannot: soups hands over Grams only.
- :func:`to_torchjd` — a soups :class:`~soups.moo.Hierarchy` (MoDo levels, penalties and all) as a torchjd
  Gramian weighting, for ``GramianWeightedAggregator`` and ``jac_to_grad`` after ``mtl_backward``. torchjd
  gives one Gram per step, not two independent samples: MoDo's cross Gram K12 is then taken as K itself
  (``cross="same"``: the single-sample, biased variant of docs/method.md, "MoDo").

    >>> from torchjd.aggregation import GramianWeightedAggregator, UPGradWeighting
    >>> from soups.moo import Hierarchy
    >>> h = Hierarchy({"formulation": "vs", "weighting": UPGradWeighting()}, ["a", "b"])
    >>> agg = GramianWeightedAggregator(to_torchjd(Hierarchy({"formulation": "vs", "weighting": "mgda"}, ["a", "b"])))
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor

from .base import GramInfo, Weighting, normalized_gram, uniform


def is_torchjd_weighting(obj: Any) -> bool:
    """Whether ``obj`` is a torchjd weighting (without importing torchjd when it is not loaded)."""
    return type(obj).__module__.startswith("torchjd.")


class TorchJDLevel(Weighting):
    """A torchjd Gramian weighting as a soups level weighting: weights from the trace-normalised Gram (the
    weightings are scale-free; torchjd zeroes Grams of trace < 1e-4), uniform for an all-zero Gram."""

    def __init__(self, num_objectives: int, impl: Any) -> None:
        super().__init__(num_objectives)
        from torchjd.aggregation._weighting_bases import _GramianWeighting  # noqa: PLC0415

        if not isinstance(impl, _GramianWeighting):
            raise TypeError(f"torchjd's {type(impl).__name__} weights from the Jacobian; a soups level hands its "
                            "weighting the Gram matrix only: use a Gramian weighting (UPGradWeighting, "
                            "MGDAWeighting, DualProjWeighting, PCGradWeighting, …)")
        self.impl = copy.deepcopy(impl)

    def compute(self, grams: GramInfo) -> Tensor:
        K, nonzero = normalized_gram(grams.K)
        if not nonzero:
            return uniform(self.num_objectives)
        return self.impl(K).to(torch.float64)

    def __repr__(self) -> str:
        return f"TorchJDLevel({type(self.impl).__name__}, num_objectives={self.num_objectives})"


def from_torchjd(impl: Any, num_objectives: int) -> TorchJDLevel:
    """A torchjd Gramian weighting as a soups :class:`~soups.moo.Weighting` over ``num_objectives``."""
    return TorchJDLevel(num_objectives, impl)


def to_torchjd(hierarchy, epoch: float = 0, step: int = 0, cross: str = "same"):
    """A torchjd Gramian weighting computing ``hierarchy.weights`` (per-objective w, penalties included).

    ``epoch``/``step`` for the penalty schedules: set the returned object's ``.epoch``/``.step`` as training
    goes. ``cross="same"``: K12 = K for weightings that need two samples (MoDo); ``"none"``: pass no K12."""
    from torchjd.aggregation._weighting_bases import _GramianWeighting  # noqa: PLC0415

    if cross not in ("same", "none"):
        raise ValueError(f"cross must be 'same' or 'none', got {cross!r}")

    class SoupsHierarchyWeighting(_GramianWeighting):
        """soups' hierarchy (levels, per-level weighting state, penalties) behind torchjd's interface."""

        def __init__(self) -> None:
            super().__init__()
            self.hierarchy, self.epoch, self.step = hierarchy, epoch, step

        def forward(self, gramian: Tensor, /) -> Tensor:
            K = gramian.detach()
            info = GramInfo(K, K if cross == "same" and self.hierarchy.needs_cross else None)
            return self.hierarchy.weights(info, self.epoch, self.step).to(gramian)

    return SoupsHierarchyWeighting()
