"""Exact MGDA: closed form for two objectives, KKT on random Jacobians, quadprog and torchjd oracles,
robustness (zero, tiny, huge, duplicated/colinear gradients, M = 1)."""

import numpy as np
import pytest
import quadprog
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from soups.moo import mgda_weights, mgda_weights_from_gram, solve_simplex_qp

FAST = settings(max_examples=60, deadline=None)


def closed_form_two(g1, g2):
    """λ1 = clip(⟨g2 − g1, g2⟩ / ‖g1 − g2‖², 0, 1) (min-norm point of a segment)."""
    diff = g1 - g2
    if float(diff @ diff) == 0:
        return 0.5
    return float(np.clip(((g2 - g1) @ g2) / (diff @ diff), 0.0, 1.0))


def assert_kkt(K, lam, tol=1e-9):
    """(Kλ)_i ≥ λᵀKλ for all i, equality on the support; λ on the simplex."""
    K = K / np.trace(K)
    g, val = K @ lam, lam @ K @ lam
    assert (lam >= 0).all() and abs(lam.sum() - 1) < 1e-12
    assert (g >= val - tol).all()
    assert np.all(np.abs(g[lam > 1e-7] - val) <= tol)


def quadprog_oracle(K):
    m = K.shape[0]
    K = K / np.trace(K)
    C = np.hstack([np.ones((m, 1)), np.eye(m)])
    b = np.concatenate([[1.0], np.zeros(m)])
    return quadprog.solve_qp(K + 1e-12 * np.eye(m), np.zeros(m), C, b, meq=1)[0]


@pytest.mark.parametrize("g1,g2", [([1.0, 0.0], [0.0, 1.0]), ([1.0, 0.0], [-1.0, 0.5]), ([2.0, 0.0], [1.0, 1.0]),
                                    ([1.0, 1.0], [3.0, 3.0]), ([1.0, 0.0], [-2.0, 0.0]), ([0.3, -2], [1.5, 0.2])])
def test_closed_form_two_objectives(g1, g2):
    g1, g2 = np.array(g1), np.array(g2)
    lam = mgda_weights(torch.tensor(np.stack([g1, g2])))
    assert lam[0].item() == pytest.approx(closed_form_two(g1, g2), abs=1e-10)


@FAST
@given(st.integers(0, 2**31 - 1))
def test_closed_form_two_random(seed):
    g = np.random.default_rng(seed).standard_normal((2, 5))
    lam = mgda_weights(torch.tensor(g))
    assert lam[0].item() == pytest.approx(closed_form_two(g[0], g[1]), abs=1e-9)


@FAST
@given(st.integers(1, 12), st.integers(1, 16), st.integers(0, 3), st.integers(0, 2**31 - 1))
def test_kkt_and_quadprog_oracle(m, p, kind, seed):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((m, p))
    if kind == 1 and m > 1:
        G[1] = G[0]  # duplicated row
    if kind == 2 and m > 2:
        G[2], G[1] = 3 * G[0], -0.5 * G[0]  # colinear rows
    if kind == 3:
        G = G + 5 * rng.standard_normal(p)  # a strong common component (ill-conditioned)
    K = G @ G.T
    lam = mgda_weights(torch.tensor(G)).numpy()
    assert_kkt(K, lam)
    Kn, ref = K / np.trace(K), quadprog_oracle(K)
    assert lam @ Kn @ lam <= ref @ Kn @ ref + 1e-9


def test_torchjd_frank_wolfe_oracle():
    """torchjd's MGDAWeighting (Frank–Wolfe) approaches the same optimum from above."""
    from torchjd.aggregation import MGDAWeighting

    rng = np.random.default_rng(3)
    fw = MGDAWeighting(epsilon=1e-9, max_iters=2000)
    for _ in range(4):
        G = torch.tensor(rng.standard_normal((4, 6)))
        K = G @ G.T
        ours, theirs = mgda_weights_from_gram(K), fw(K / K.trace())
        assert ours @ K @ ours <= theirs @ K @ theirs + 1e-12
        assert (ours @ K @ ours).item() == pytest.approx((theirs @ K @ theirs).item(), rel=1e-2, abs=1e-9)
        assert torch.allclose(ours, theirs, atol=0.05)


@pytest.mark.parametrize("scale", [1e-10, 1.0, 1e15])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_scale_invariance_and_dtype(scale, dtype):
    G = torch.tensor([[1.0, 0.2, -0.3], [-0.8, 0.5, 0.1], [0.1, -0.9, 0.4]], dtype=torch.float64)
    ref = mgda_weights(G)
    lam = mgda_weights((G * scale).to(dtype))
    assert lam.dtype == dtype and torch.isfinite(lam).all()
    assert torch.allclose(lam.double(), ref, atol=1e-6)
    lam_gram = mgda_weights_from_gram(((G * scale) @ (G * scale).T).to(dtype))
    assert torch.allclose(lam_gram.double(), ref, atol=1e-5 if dtype == torch.float32 else 1e-10)


def test_degenerate_inputs():
    assert torch.equal(mgda_weights(torch.zeros(3, 5)), torch.full((3,), 1 / 3))
    assert mgda_weights(torch.randn(1, 4)).tolist() == [1.0]
    dup = mgda_weights(torch.tensor([[1.0, 2.0], [1.0, 2.0]], dtype=torch.float64))
    assert dup.sum().item() == pytest.approx(1.0)
    # a zero row makes the min-norm element 0: all the weight on it
    lam = mgda_weights(torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]], dtype=torch.float64))
    assert lam.tolist() == [0.0, 1.0, 0.0]
    # opposite gradients: the min-norm element is 0 with equal weights
    lam = mgda_weights(torch.tensor([[1.0, 1.0], [-2.0, -2.0]], dtype=torch.float64))
    assert lam.tolist() == pytest.approx([2 / 3, 1 / 3])
    with pytest.raises(ValueError):
        mgda_weights(torch.tensor([[float("nan"), 0.0], [1.0, 0.0]]))


@FAST
@given(st.integers(2, 8), st.integers(0, 2**31 - 1))
def test_permutation_equivariance(m, seed):
    rng = np.random.default_rng(seed)
    G = torch.tensor(rng.standard_normal((m, m + 3)))  # generic: unique solution
    perm = torch.tensor(rng.permutation(m))
    assert torch.allclose(mgda_weights(G[perm]), mgda_weights(G)[perm], atol=1e-8)


def test_solve_simplex_qp_direct():
    x = solve_simplex_qp(np.array([[1.0, 0.0], [0.0, 4.0]]))
    assert x.tolist() == pytest.approx([0.8, 0.2])
