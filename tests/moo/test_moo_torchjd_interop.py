"""soups.moo <-> torchjd: each side's weightings inside the other, checked against the other side's own
implementation or a closed form."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from soups.errors import ConfigError
from soups.moo import GramInfo, Hierarchy, build_weighting, from_torchjd, to_torchjd

torchjd = pytest.importorskip("torchjd")
from torchjd.aggregation import MeanWeighting, MGDAWeighting  # noqa: E402


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(2, 4))
def test_torchjd_mgda_as_a_soups_level_matches_soups_mgda(seed, m):
    J = torch.randn(m, 7, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    info = GramInfo(J @ J.T)
    ours = build_weighting("mgda", m)(info)
    theirs = from_torchjd(MGDAWeighting(epsilon=1e-10, max_iters=10_000), m)(info)
    # both seek the minimum-norm point of the convex hull (torchjd by Frank-Wolfe iterations, soups by an exact
    # QP): on the simplex, soups' is no longer, and torchjd's within 1 % of it
    assert theirs.sum().item() == pytest.approx(1.0) and (theirs >= 0).all()
    n_ours, n_theirs = (ours @ J).norm().item(), (theirs @ J).norm().item()
    assert n_ours <= n_theirs + 1e-9 and n_theirs <= 1.01 * n_ours + 1e-9


def test_a_torchjd_weighting_in_a_vm_hierarchy_keeps_the_penalties():
    h = Hierarchy({"formulation": "vm", "levels": [["a", "b"], ["c"]], "weighting": MGDAWeighting()}, ["a", "b", "c"])
    K = torch.diag(torch.tensor([1.0, 1.0, 4.0], dtype=torch.float64))
    w = h.weights(GramInfo(K), epoch=5)
    # level 1: MGDA of two orthogonal unit gradients = (½, ½); level 2 alone: 1, scaled by η1 = 0.1 + 5·0.02
    torch.testing.assert_close(w, torch.tensor([0.5, 0.5, 0.2], dtype=torch.float64), atol=1e-4, rtol=0)


def test_jacobian_weightings_are_refused_with_the_reason():
    with pytest.raises(ConfigError, match="weights from the Jacobian"):
        Hierarchy({"weighting": MeanWeighting()}, ["a", "b"])


def test_soups_modo_inside_torchjd_follows_the_single_sample_recurrence():
    gamma, rho = 0.3, 0.1
    h = Hierarchy({"formulation": "vs", "weighting": "modo", "modo": {"gamma": gamma, "rho": rho}}, ["a", "b"])
    weighting = to_torchjd(h)
    J = torch.tensor([[1.0, 0.5, 0.0], [-0.2, 1.0, 2.0]], dtype=torch.float64)
    K = J @ J.T
    v = torch.full((2,), 0.5, dtype=torch.float64)
    v = v - gamma * (K @ v + rho * v)                       # λ − γ (K12 λ + ρ λ) with K12 = K (cross="same")
    lam1 = float(torch.clamp((v[0] - v[1] + 1) / 2, 0, 1))
    torch.testing.assert_close(weighting(K), torch.tensor([lam1, 1 - lam1], dtype=torch.float64))
    assert h.weightings[0].steps == 1                       # λ persists in the soups hierarchy's state
