"""Independent oracles written from the method (docs/method.md), for what other tests checked only by re-running
the implementation: the hierarchy's weights against hand formulas, PCGrad against torchjd on the same permutation
stream (M ≥ 3), and per-layer MoDo inside the engine — its λ persisting per layer across steps and reused between
updates — against the two-objective recurrence run by hand."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from soups.moo import GramInfo, Hierarchy, MultiObjective, build_weighting


def modo_step_2(lam: torch.Tensor, K12: torch.Tensor, gamma: float, rho: float) -> torch.Tensor:
    """One MoDo step for M = 2: λ − γ (K12 λ + ρ λ), projected on the 2-simplex in closed form."""
    v = lam - gamma * (K12 @ lam + rho * lam)
    a = float(torch.clamp((v[0] - v[1] + 1) / 2, 0, 1))
    return torch.tensor([a, 1 - a], dtype=torch.float64)


@pytest.mark.parametrize("epoch", [0, 7, 200])
def test_vm_weights_are_the_penalty_products_times_each_levels_lambda(epoch):
    gamma, rho = 0.2, 0.1
    h = Hierarchy({"formulation": "vm", "levels": [["a", "b"], ["c", "d"], ["e"]], "weighting": "modo",
                   "modo": {"gamma": gamma, "rho": rho}}, list("abcde"))
    g = torch.Generator().manual_seed(epoch)
    G1, G2 = torch.randn(5, 4, generator=g, dtype=torch.float64), torch.randn(5, 4, generator=g, dtype=torch.float64)
    w = h.weights(GramInfo.from_jacobians(G1, G2), epoch=epoch)
    eta1, eta2 = min(0.1 + 0.02 * epoch, 1.5), min(0.02 * epoch, 1.5)   # VM's default schedules, capped
    half = torch.full((2,), 0.5, dtype=torch.float64)
    lam1 = modo_step_2(half, G1[:2] @ G2[:2].T, gamma, rho)
    lam2 = modo_step_2(half, G1[2:4] @ G2[2:4].T, gamma, rho)
    want = torch.cat([lam1, eta1 * lam2, torch.tensor([eta1 * eta2], dtype=torch.float64)])
    torch.testing.assert_close(w.double(), want)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(3, 5))
def test_pcgrad_matches_torchjd_on_the_same_permutation_stream(seed, m):
    from torchjd.aggregation import PCGradWeighting

    J = torch.randn(m, 6, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)
    J[1] = -0.8 * J[0] + 0.2 * J[1]                     # at least one conflicting pair
    K = J @ J.T
    ours = build_weighting("pcgrad", m, seed=seed)(GramInfo(K))
    torch.manual_seed(seed)                              # torchjd draws from the global generator
    theirs = PCGradWeighting()(K)
    torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-12)


class TwoLayers(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.encoder = nn.ModuleList([nn.Linear(3, 4), nn.Linear(4, 4)])
        self.heads = nn.ModuleList([nn.Linear(4, 1), nn.Linear(4, 1)])
        self.double()

    def losses(self, x, y):
        f = torch.tanh(self.encoder[1](torch.tanh(self.encoder[0](x))))
        return {n: (h(f).squeeze(-1) - y[:, i]) ** 2 for i, (n, h) in enumerate(zip("ab", self.heads))}, f


def test_per_layer_modo_persists_per_layer_and_is_reused_between_updates():
    gamma, rho, update_every = 0.5, 0.1, 2
    model = TwoLayers()
    moo = MultiObjective(["a", "b"], model.encoder, {"formulation": "vs", "weighting": "modo",
                                                     "modo": {"gamma": gamma, "rho": rho}},
                         mode="layers", update_every=update_every, layers={"fixed": ["0", "1"]})
    lam = {name: torch.full((2,), 0.5, dtype=torch.float64) for name in ("0", "1")}
    gen = torch.Generator().manual_seed(0)
    for step in range(5):
        x, y = torch.randn(6, 3, generator=gen, dtype=torch.float64), torch.randn(6, 2, generator=gen, dtype=torch.float64)
        losses, f = model.losses(x, y)
        want = {}
        for name, layer in zip(("0", "1"), model.encoder):
            params = list(layer.parameters())
            G = [torch.stack([torch.cat([g.reshape(-1) for g in torch.autograd.grad(losses[n][rows].mean(), params,
                                                                                       retain_graph=True)])
                              for n in "ab"]) for rows in (slice(0, 3), slice(3, 6))]
            if step % update_every == 0:               # λ of this layer moves from its own previous value
                lam[name] = modo_step_2(lam[name], G[0] @ G[1].T, gamma, rho)
            want[name] = lam[name] @ ((G[0] + G[1]) / 2)
        rec = moo.backward(losses, f)
        assert rec.selected == ["0", "1"] and rec.updated == (step % update_every == 0)
        for name, layer in zip(("0", "1"), model.encoder):
            got = torch.cat([p.grad.reshape(-1) for p in layer.parameters()])
            torch.testing.assert_close(got, want[name])
        model.zero_grad(set_to_none=True)
    assert not torch.equal(lam["0"], lam["1"])         # two layers, two λ: the test tells them apart
