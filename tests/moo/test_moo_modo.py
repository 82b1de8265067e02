"""MoDo: the recurrence λ ← Π_Δ(λ − γ(G1G2ᵀλ + ρλ)) on hand-computed steps, options, state,
torchjd's MoDoWeighting as an independent oracle, convergence to Pareto stationarity on a toy."""

import pytest
import torch

from soups.errors import ConfigError
from soups.moo import GramInfo, MoDo, mgda_weights

K12 = torch.tensor([[2.0, 0.0], [1.0, 4.0]], dtype=torch.float64)


def test_hand_computed_steps_rho0():
    # λ0 = [.5, .5]; K12λ = [1, 2.5]; λ − .1·K12λ = [.4, .25]; +(1 − .65)/2 → [.575, .425]
    # K12λ = [1.15, 2.275]; → [.46, .1975]; +(1 − .6575)/2 = .17125 → [.63125, .36875]
    # K12λ = [1.2625, 2.10625]; → [.505, .158125]; +.1684375 → [.6734375, .3265625]
    modo = MoDo(2, gamma=0.1, rho=0.0)
    expected = [[0.575, 0.425], [0.63125, 0.36875], [0.6734375, 0.3265625]]
    for exp in expected:
        assert modo.update_from_gram(K12).tolist() == pytest.approx(exp, abs=1e-12)
    assert modo.steps == 3


def test_hand_computed_steps_with_rho():
    # step 1: K12λ + ρλ = [1.05, 2.55] → [.395, .245] → +.18 → [.575, .425] (ρλ is a uniform shift)
    # step 2: K12λ + ρλ = [1.15 + .0575, 2.275 + .0425] = [1.2075, 2.3175]
    #         λ − .1·(…) = [.45425, .19325]; +(1 − .6475)/2 = .17625 → [.6305, .3695]
    modo = MoDo(2)  # defaults γ = 0.1, ρ = 0.1
    assert modo.update_from_gram(K12).tolist() == pytest.approx([0.575, 0.425], abs=1e-12)
    assert modo.update_from_gram(K12).tolist() == pytest.approx([0.6305, 0.3695], abs=1e-12)


def test_hand_computed_step_with_clipping():
    # M = 3, γ = 1: λ − K12λ = [1/3, 1/3, −2/3] → Π_Δ = [.5, .5, 0]; then K12λ = 0: λ stays
    K = torch.diag(torch.tensor([0.0, 0.0, 3.0]))
    modo = MoDo(3, gamma=1.0, rho=0.0)
    assert modo.update_from_gram(K).tolist() == pytest.approx([0.5, 0.5, 0.0], abs=1e-12)
    assert modo.update_from_gram(K).tolist() == pytest.approx([0.5, 0.5, 0.0], abs=1e-12)


def test_update_uses_G1_G2_transpose():
    G1 = torch.eye(2, dtype=torch.float64)
    G2 = torch.tensor([[2.0, 1.0], [0.0, 4.0]], dtype=torch.float64)  # G1 G2ᵀ = K12 above; G2 G1ᵀ = K12ᵀ
    modo = MoDo(2, gamma=0.1, rho=0.0)
    assert modo.update(G1, G2).tolist() == pytest.approx([0.575, 0.425], abs=1e-12)


def test_direction_lambda_updated_vs_previous():
    upd, prev = MoDo(2, rho=0.0), MoDo(2, rho=0.0, direction_lambda="previous")
    info = GramInfo(K12.clone(), K12)
    assert upd(info).tolist() == pytest.approx([0.575, 0.425])
    assert prev(info).tolist() == pytest.approx([0.5, 0.5])  # the paper's Eq. 13: λ^k
    assert prev(info).tolist() == pytest.approx([0.575, 0.425])
    assert prev.weights.tolist() == pytest.approx([0.63125, 0.36875])


def test_call_needs_cross_gram_and_single_objective():
    with pytest.raises(ValueError, match="K12"):
        MoDo(2)(GramInfo(torch.eye(2)))
    one = MoDo(1)
    assert not one.needs_cross and one(GramInfo(torch.ones(1, 1))).tolist() == [1.0]
    out = MoDo(2)(GramInfo(torch.eye(2, dtype=torch.float32), K12.float()))
    assert out.dtype == torch.float32


def test_state_dict_roundtrip_resumes_exactly():
    a = MoDo(3, gamma=0.05, rho=0.1)
    gen = torch.Generator().manual_seed(0)
    Ks = [torch.randn(3, 3, generator=gen, dtype=torch.float64) for _ in range(4)]
    for K in Ks[:2]:
        a.update_from_gram(K)
    b = MoDo(3, gamma=0.05, rho=0.1)
    b.load_state_dict(a.state_dict())
    for K in Ks[2:]:
        assert torch.equal(a.update_from_gram(K), b.update_from_gram(K))
    assert torch.equal(a.direction_weights(), b.direction_weights()) and b.steps == 4
    with pytest.raises(ValueError):
        MoDo(2).load_state_dict(a.state_dict())
    a.reset()
    assert a.weights.tolist() == pytest.approx([1 / 3] * 3)


def test_torchjd_modo_oracle():
    """torchjd's MoDoWeighting has the same definition (input J1 J2ᵀ, λ ← Π(λ − γ(Gλ + ρλ)),
    returns the updated λ): it matches step for step."""
    from torchjd.aggregation import MoDoWeighting

    gen = torch.Generator().manual_seed(1)
    ours, theirs = MoDo(4, gamma=0.07, rho=0.2), MoDoWeighting(gamma=0.07, rho=0.2)
    for _ in range(20):
        G1 = torch.randn(4, 9, generator=gen, dtype=torch.float64)
        G2 = torch.randn(4, 9, generator=gen, dtype=torch.float64)
        assert torch.allclose(ours.update(G1, G2), theirs(G1 @ G2.T), atol=1e-12)


@pytest.mark.parametrize("kwargs,key", [({"gamma": 0.0}, "moo.modo.gamma"), ({"gamma": -1.0}, "moo.modo.gamma"),
                                        ({"rho": -0.1}, "moo.modo.rho"),
                                        ({"direction_lambda": "next"}, "moo.modo.direction_lambda"),
                                        ({"normalize": "l1"}, "moo.modo.normalize")])
def test_config_errors(kwargs, key):
    with pytest.raises(ConfigError) as err:
        MoDo(2, **kwargs)
    assert err.value.key == key


def test_scaled_grams_stay_finite_and_on_simplex():
    for scale in (0.0, 1e-10, 1e15):
        modo = MoDo(2)
        lam = modo.update_from_gram(K12 * scale)
        assert torch.isfinite(lam).all() and lam.sum().item() == pytest.approx(1.0)
    assert MoDo(2).update_from_gram(K12 * 0).tolist() == [0.5, 0.5]
    norm_small = MoDo(2, normalize="frobenius").update_from_gram(K12 * 1e-10)
    norm_one = MoDo(2, normalize="frobenius").update_from_gram(K12)
    assert torch.allclose(norm_small, norm_one)
    with pytest.raises(ValueError):
        MoDo(2).update_from_gram(torch.full((2, 2), float("inf")))


def _toy(seed=0, M=3, P=4):
    """Convex quadratics f_m(x) = ½(x − a_m)ᵀA_m(x − a_m)."""
    gen = torch.Generator().manual_seed(seed)
    a = 2 * torch.randn(M, P, generator=gen, dtype=torch.float64)
    Q = torch.randn(M, P, P, generator=gen, dtype=torch.float64)
    A = Q @ Q.transpose(1, 2) / P + 0.5 * torch.eye(P, dtype=torch.float64)
    return gen, (lambda x: torch.einsum("mpq,mq->mp", A, x - a))


@pytest.mark.parametrize("sigma", [0.0, 0.3])
def test_modo_descent_reaches_pareto_stationarity(sigma):
    gen, grads = _toy()
    x = torch.full((4,), 5.0, dtype=torch.float64)
    modo = MoDo(3, gamma=0.01, rho=0.0)
    start = (mgda_weights(grads(x)) @ grads(x)).norm()
    for t in range(1000):
        G = grads(x)
        G1 = G + sigma * torch.randn(G.shape, generator=gen, dtype=torch.float64)
        G2 = G + sigma * torch.randn(G.shape, generator=gen, dtype=torch.float64)
        modo.update(G1, G2)
        lr = 0.05 if sigma == 0 else 0.05 / (1 + t / 200)
        x = x - lr * modo.direction_weights() @ ((G1 + G2) / 2)  # d = λᵀ(G1 + G2)/2, docs/method.md "MoDo"
    G = grads(x)
    min_norm = (mgda_weights(G) @ G).norm()  # min-norm element of the convex hull of the gradients
    assert start > 5
    assert min_norm < (1e-8 if sigma == 0 else 0.05)


def _run(modo: MoDo, K: torch.Tensor, steps: int) -> list:
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(steps):
            modo.update_from_gram(K)
    return [str(w.message) for w in caught]


def test_stall_warning_when_lambda_never_leaves_uniform():
    """A conflicting Gram of tiny norm: the exact step moves λ by ~γ·1e-6 per update, so after 100
    updates λ is still uniform and one warning names the config key and the fix; the same Gram
    with the scale-free step moves λ and warns nothing."""
    from soups.moo.modo import STALL_STEPS

    K = 1e-6 * torch.tensor([[4.0, -1.0], [-1.0, 1.0]], dtype=torch.float64)
    messages = _run(MoDo(2, gamma=0.1, rho=0.0, key="moo.hierarchy.modo"), K, STALL_STEPS + 20)
    assert len(messages) == 1
    assert "moo.hierarchy.modo" in messages[0] and "normalize: frobenius" in messages[0]
    assert _run(MoDo(2, gamma=0.1, rho=0.0, normalize="frobenius"), K, STALL_STEPS + 20) == []


def test_no_stall_warning_when_lambda_moved_then_returned():
    """λ that moved away from uniform earlier does not count as stalled (the largest shift counts)."""
    modo = MoDo(2, gamma=0.1, rho=0.0)
    assert _run(modo, torch.tensor([[4.0, 0.0], [0.0, 1.0]], dtype=torch.float64), 5) == []
    assert (modo.weights - 0.5).abs().max() > 0.1
    assert _run(modo, torch.eye(2, dtype=torch.float64), 200) == []  # pulls λ back to uniform
    assert (modo.weights - 0.5).abs().max() < 1e-3  # back at uniform, yet no warning
