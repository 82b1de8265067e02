"""Weightings behind one interface: factory, robustness to gradient scale, permutation
equivariance, the non-conflicting case, and per-method correctness (PCGrad, CAGrad, UPGrad)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from soups.errors import ConfigError
from soups.moo import CAGrad, GramInfo, Linear, PCGrad, WEIGHTINGS, build_weighting, project_simplex
from soups.moo.weighting import cagrad_inner

NAMES = sorted(WEIGHTINGS)
SCALE_INVARIANT = ["linear", "mgda", "pcgrad", "cagrad", "upgrad"]


def _jacobians(seed, m=3, p=6):
    gen = torch.Generator().manual_seed(seed)
    G1 = torch.randn(m, p, generator=gen, dtype=torch.float64)
    G2 = G1 + 0.3 * torch.randn(m, p, generator=gen, dtype=torch.float64)
    return G1, G2


def test_factory_names_and_errors():
    for name in NAMES:
        w = build_weighting(name, 3)
        assert w.num_objectives == 3 and w.needs_cross == (name == "modo")
    assert build_weighting("MoDo", 2, gamma=0.3).gamma == 0.3
    with pytest.raises(ConfigError) as err:
        build_weighting("nash", 3)
    assert err.value.key == "moo.weighting" and set(err.value.choices) == set(NAMES)
    with pytest.raises(ConfigError) as err:
        build_weighting("modo", 3, gama=0.1)
    assert err.value.key == "moo.modo.gama"
    with pytest.raises(ConfigError) as err:
        build_weighting("cagrad", 3, c=-1.0)
    assert err.value.key == "moo.cagrad.c"
    with pytest.raises(ConfigError) as err:
        Linear(3, [0.5, 0.5])
    assert err.value.key == "moo.linear.weights"
    with pytest.raises(ConfigError):
        build_weighting("linear", 2, weights=[1.0, -1.0])
    with pytest.raises(ValueError):
        build_weighting("mgda", 3)(GramInfo(torch.eye(2)))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("scale", [0.0, 1e-10, 1e15])
def test_finite_and_correct_under_gradient_scaling(name, scale):
    G1, G2 = _jacobians(0)
    ref = build_weighting(name, 3)(GramInfo.from_jacobians(G1, G2))
    w = build_weighting(name, 3)(GramInfo.from_jacobians(G1 * scale, G2 * scale))
    assert torch.isfinite(w).all() and w.shape == (3,)
    if scale > 0 and name in SCALE_INVARIANT:
        assert torch.allclose(w, ref, atol=1e-6)
    if name == "modo":  # exactly the recurrence on the scaled cross Gram, from uniform λ
        lam = torch.full((3,), 1 / 3, dtype=torch.float64)
        K12 = (G1 * scale) @ (G2 * scale).T
        assert torch.allclose(w, project_simplex(lam - 0.1 * (K12 @ lam + 0.1 * lam)), atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_float32_inputs_give_float32_weights(name):
    G1, G2 = _jacobians(1)
    w = build_weighting(name, 3)(GramInfo.from_jacobians(G1.float(), G2.float()))
    w64 = build_weighting(name, 3)(GramInfo.from_jacobians(G1, G2))
    assert w.dtype == torch.float32 and torch.allclose(w.double(), w64, atol=1e-4)


@settings(max_examples=15, deadline=None)
@given(st.sampled_from([n for n in NAMES if n != "pcgrad"]), st.integers(0, 10_000))
def test_permutation_equivariance(name, seed):
    G1, G2 = _jacobians(seed, m=4)
    perm = torch.tensor(np.random.default_rng(seed).permutation(4))
    a, b = build_weighting(name, 4), build_weighting(name, 4)
    for _ in range(3):  # several steps for stateful MoDo
        wa = a(GramInfo.from_jacobians(G1, G2))
        wb = b(GramInfo.from_jacobians(G1[perm], G2[perm]))
        assert torch.allclose(wb, wa[perm], atol=1e-5)


def test_pcgrad_permutation_equivariance_two_objectives():
    G = torch.tensor([[1.0, 0.0], [-1.0, 0.5]], dtype=torch.float64)
    w = PCGrad(2)(GramInfo.from_jacobians(G))
    assert torch.allclose(PCGrad(2)(GramInfo.from_jacobians(G.flip(0))), w.flip(0))


@pytest.mark.parametrize("name", NAMES)
def test_non_conflicting_gradients_keep_the_direction(name):
    g = torch.tensor([0.3, -1.2, 0.5, 2.0], dtype=torch.float64)
    G = g.repeat(3, 1)
    weighting = build_weighting(name, 3)
    d = weighting(GramInfo.from_jacobians(G, G)) @ G
    cos = (d @ g) / (d.norm() * g.norm())
    assert cos.item() == pytest.approx(1.0, abs=1e-9)


def test_pcgrad_matches_formula_and_torchjd_for_two():
    from torchjd.aggregation import PCGradWeighting

    g1 = torch.tensor([1.0, 0.0], dtype=torch.float64)
    g2 = torch.tensor([-1.0, 0.5], dtype=torch.float64)
    G = torch.stack([g1, g2])
    expected = (g1 - (g1 @ g2) / (g2 @ g2) * g2) + (g2 - (g2 @ g1) / (g1 @ g1) * g1)
    w = PCGrad(2)(GramInfo.from_jacobians(G))
    assert torch.allclose(w @ G, expected)
    assert torch.allclose(w, PCGradWeighting()(G @ G.T))


def test_pcgrad_reproducible_with_seed_and_state():
    G, _ = _jacobians(2, m=5)
    G[1] = -G[0] + 0.1
    info = GramInfo.from_jacobians(G)
    a, b = PCGrad(5, seed=7), PCGrad(5, seed=7)
    assert torch.equal(a(info), b(info))
    state = a.state_dict()
    first = a(info)
    b.load_state_dict(state)
    assert torch.equal(first, b(info))


def test_cagrad_solves_its_inner_problem_and_maximises_worst_descent():
    gen = torch.Generator().manual_seed(3)
    for _ in range(5):
        G = torch.randn(3, 5, generator=gen, dtype=torch.float64)
        K = (G @ G.T) / (G @ G.T).trace()
        c = 0.5
        w = torch.from_numpy(cagrad_inner(K.numpy(), c))
        b, r = K.mean(1), c * K.mean().sqrt()

        def F(v):
            return v @ b + r * torch.sqrt((v * (v @ K)).sum(-1).clamp(min=0))

        e = -torch.log(torch.rand(2000, 3, generator=gen, dtype=torch.float64))
        assert F(w) <= F(e / e.sum(1, keepdim=True)).min() + 1e-9
        # d = g0 + (c‖g0‖/‖g_w‖) g_w: on the ball ‖d − g0‖ ≤ c‖g0‖, best worst-case descent min_i ⟨g_i, d⟩
        weights = CAGrad(3, c=c, rescale=False)(GramInfo(G @ G.T))
        d, g0 = weights @ G, G.mean(0)
        radius = c * g0.norm()
        assert (d - g0).norm() <= radius * (1 + 1e-6)
        u = torch.randn(2000, 5, generator=gen, dtype=torch.float64)
        others = g0 + radius * u / u.norm(dim=1, keepdim=True)
        assert (G @ d).min() >= (others @ G.T).min(1).values.max() - 1e-6 * G.norm() ** 2
    rescaled = CAGrad(3, c=0.5)(GramInfo(G @ G.T))
    assert torch.allclose(rescaled * 1.25, weights)


def test_upgrad_matches_torchjd_and_is_in_the_dual_cone():
    from torchjd.aggregation import UPGradWeighting

    gen = torch.Generator().manual_seed(4)
    for _ in range(5):
        G = torch.randn(4, 6, generator=gen, dtype=torch.float64)
        K = G @ G.T
        w = build_weighting("upgrad", 4)(GramInfo(K))
        assert torch.allclose(w, UPGradWeighting()(K), atol=1e-8)
        assert (G @ (w @ G)).min() >= -1e-3 * K.trace()  # ⟨g_i, d⟩ ≥ 0 up to torchjd's regularisation


@pytest.mark.parametrize("name", NAMES)
def test_single_objective(name):
    w = build_weighting(name, 1)(GramInfo(torch.full((1, 1), 4.0), torch.ones(1, 1)))
    expected = 0.8 if name == "cagrad" else 1.0  # CAGrad's official rescale 1/(1 + c²)
    assert w.tolist() == pytest.approx([expected])


def test_gram_info_blocks_add_up_and_from_grams():
    G1, G2 = _jacobians(5, m=3, p=8)
    full = GramInfo.from_jacobians(G1, G2)
    parts = GramInfo.from_jacobians(G1[:, :3], G2[:, :3]) + GramInfo.from_jacobians(G1[:, 3:], G2[:, 3:])
    assert torch.allclose(full.K, parts.K) and torch.allclose(full.K12, parts.K12)
    again = GramInfo.from_grams(G1 @ G1.T, G1 @ G2.T, G2 @ G2.T)
    assert torch.allclose(again.K, full.K) and torch.equal(again.K12, full.K12)
    sub = full.sub([2, 0])
    assert torch.equal(sub.K, full.K[[2, 0]][:, [2, 0]])
    with pytest.raises(ValueError):
        GramInfo(torch.zeros(2, 3))
