"""soups.moo.MultiObjective against oracles written from the method (docs/method.md), not from the engine:
per-objective gradients by plain autograd, MGDA's and MoDo's two-objective closed forms."""

import pytest
import torch
from torch import nn

from soups.moo import MOOInputError, MultiObjective, layer_groups_of


class TwoHeads(nn.Module):
    """A shared encoder (frontend + 2 blocks) and one linear head per objective; float64 for exactness."""

    def __init__(self, names=("a", "b"), seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.encoder = nn.Sequential(nn.Linear(3, 5), nn.ModuleList([nn.Linear(5, 5), nn.Linear(5, 5)]))
        self.heads = nn.ModuleDict({n: nn.Linear(5, 1) for n in names})
        self.double()

    def features(self, x):
        h = torch.tanh(self.encoder[0](x))
        for block in self.encoder[1]:
            h = h + torch.tanh(block(h))
        return h

    def losses(self, x, y):
        """Per-item losses (B,) of every objective, and the features they read."""
        f = self.features(x)
        return {n: ((head(f).squeeze(-1) - y[:, i]) ** 2) for i, (n, head) in enumerate(self.heads.items())}, f


def shared_params(model):
    return [p for p in model.encoder.parameters()]


def flat_grad(loss, params):
    return torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params, retain_graph=True)])


def current_grad(params):
    return torch.cat([p.grad.reshape(-1) for p in params])


def data(n=6, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, generator=g, dtype=torch.float64), torch.randn(n, 2, generator=g, dtype=torch.float64)


def test_linear_mode_gives_heads_their_own_gradient_and_the_encoder_the_weighted_sum():
    model, (x, y) = TwoHeads(), data()
    moo = MultiObjective(["a", "b"], model.encoder, {"formulation": "vs", "weighting": "linear"}, mode="linear",
                         weights={"a": 2.0, "b": 0.5})
    losses, f = model.losses(x, y)
    la, lb = losses["a"].mean(), losses["b"].mean()
    want_shared = 2.0 * flat_grad(la, shared_params(model)) + 0.5 * flat_grad(lb, shared_params(model))
    want_head_a = flat_grad(la, list(model.heads["a"].parameters()))
    rec = moo.backward(losses, f)
    torch.testing.assert_close(current_grad(shared_params(model)), want_shared)
    torch.testing.assert_close(current_grad(list(model.heads["a"].parameters())), want_head_a)
    assert rec.weights.tolist() == [2.0, 0.5] and moo.step == 1


def test_faithful_mgda_matches_the_two_objective_closed_form():
    model, (x, y) = TwoHeads(), data()
    moo = MultiObjective(["a", "b"], model.encoder, {"formulation": "vs", "weighting": "mgda"}, mode="faithful")
    losses, f = model.losses(x, y)
    g1, g2 = (flat_grad(losses[n].mean(), shared_params(model)) for n in "ab")
    a = float(torch.clamp((g2 - g1) @ g2 / ((g1 - g2) @ (g1 - g2)), 0, 1))   # min_a ‖a g1 + (1-a) g2‖
    rec = moo.backward(losses, f)
    torch.testing.assert_close(rec.weights, torch.tensor([a, 1 - a], dtype=torch.float64), atol=1e-7, rtol=0)
    torch.testing.assert_close(current_grad(shared_params(model)), a * g1 + (1 - a) * g2, atol=1e-7, rtol=1e-6)
    torch.testing.assert_close(rec.cosines()[0, 1], (g1 @ g2 / g1.norm() / g2.norm()).to(torch.float64))


@pytest.mark.parametrize("mode", ["faithful", "fast"])
def test_modo_double_sampling_uses_the_two_halves_of_per_item_losses(mode):
    model, (x, y) = TwoHeads(), data(n=7)
    gamma, rho = 0.5, 0.1
    moo = MultiObjective(["a", "b"], model.encoder, {"formulation": "vs", "weighting": "modo",
                                                     "modo": {"gamma": gamma, "rho": rho}}, mode=mode)
    losses, f = model.losses(x, y)
    halves = [slice(0, 4), slice(4, 7)]                       # ⌈7/2⌉ items, then the rest
    at = [f] if mode == "fast" else shared_params(model)     # fast: the Gram of the features' gradients, pooled
    pool = (lambda g: g.reshape(-1, 5).sum(0)) if mode == "fast" else (lambda g: g)
    G = [torch.stack([pool(flat_grad(losses[n][h].mean(), at)) for n in "ab"]) for h in halves]
    v = torch.full((2,), 0.5, dtype=torch.float64)
    v = v - gamma * (G[0] @ G[1].T @ v + rho * v)
    lam1 = float(torch.clamp((v[0] - v[1] + 1) / 2, 0, 1))   # projection onto the 2-simplex
    want = torch.tensor([lam1, 1 - lam1], dtype=torch.float64)
    mean_halves = [(flat_grad(losses[n][halves[0]].mean(), shared_params(model))
                    + flat_grad(losses[n][halves[1]].mean(), shared_params(model))) / 2 for n in "ab"]
    rec = moo.backward(losses, f)
    torch.testing.assert_close(rec.weights, want)
    torch.testing.assert_close(rec.lambdas[0], want)
    # d = λᵀ(G1 + G2)/2 over the shared parameters in both modes (fast: through one backward)
    torch.testing.assert_close(current_grad(shared_params(model)), want[0] * mean_halves[0] + want[1] * mean_halves[1])


def test_loss_names_must_match_the_objectives():
    model, (x, y) = TwoHeads(), data()
    moo = MultiObjective(["a", "b"], model.encoder, mode="fast")
    losses, f = model.losses(x, y)
    with pytest.raises(MOOInputError, match=r"\['a', 'c'\] do not match the objectives \['a', 'b'\].*missing: \['b'\]"):
        moo.backward({"a": losses["a"], "c": losses["b"]}, f)


def test_a_loss_that_ignores_the_features_is_named():
    model, (x, y) = TwoHeads(), data()
    moo = MultiObjective(["a", "b"], model.encoder, mode="fast")
    losses, f = model.losses(x, y)
    with pytest.raises(MOOInputError, match="objective 'b' does not depend on the shared features"):
        moo.backward({"a": losses["a"], "b": model.heads["b"](x.new_ones(6, 5)).squeeze(-1)}, f)


def test_scalar_losses_under_double_sampling_say_what_to_pass():
    model, (x, y) = TwoHeads(), data()
    moo = MultiObjective(["a", "b"], model.encoder, mode="fast")
    losses, f = model.losses(x, y)
    with pytest.raises(MOOInputError, match="per-item losses"):
        moo.backward({n: v.mean() for n, v in losses.items()}, f)


@pytest.mark.parametrize("poison", ["loss", "gradient"])
@pytest.mark.parametrize("mode", ["fast", "faithful", "layers", "linear"])
def test_a_non_finite_objective_is_dropped_and_never_reaches_lambda(mode, poison):
    model, (x, y) = TwoHeads(("a", "b", "c")), data()
    y = torch.cat([y, y[:, :1]], 1)
    moo = MultiObjective(["a", "b", "c"], model.encoder, {"formulation": "vs", "weighting": "modo"}, mode=mode)
    losses, f = model.losses(x, y)
    moo.backward(losses, f)                                    # a good step: λ moves
    before = moo.state_dict()
    for p in model.parameters():
        p.grad = None
    losses, f = model.losses(x, y)
    if poison == "loss":
        losses["b"] = losses["b"] * float("nan")
    else:  # finite loss (0), NaN gradient: d sqrt(u)/du at u = 0 times 0
        losses["b"] = torch.sqrt((losses["b"] * 0).clamp(min=0))
    rec = moo.backward(losses, f)
    assert rec.dropped == {"b": poison} and rec.weights[1] == 0 and not rec.updated and moo.dropped == {"b": 1}
    assert all(p.grad is None for p in model.heads["b"].parameters())
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    lam = lambda s: s["engine"]["hierarchy"]["weightings"][0].get("lambda")  # noqa: E731
    if mode != "linear":
        assert torch.equal(lam(before), lam(moo.state_dict()))


def test_layer_groups_are_derived_and_checked():
    model = TwoHeads()
    assert list(layer_groups_of(model.encoder)) == ["0", "1.0", "1.1"]
    with pytest.raises(MOOInputError, match=r"2 trainable shared parameter\(s\) in no layer group.*1\.1\.weight"):
        MultiObjective(["a", "b"], model.encoder, mode="layers", layer_groups={"front": "0", "b0": "1.0"})
    with pytest.raises(MOOInputError, match="'1.0.weight' is in two layer groups"):
        MultiObjective(["a", "b"], model.encoder, mode="layers",
                       layer_groups={"front": ["0", "1.0"], "rest": ["1"]})
    moo = MultiObjective(["a", "b"], model.encoder, mode="layers", layer_groups={"front": "0", "blocks": "1"})
    assert list(moo.engine.layer_groups) == ["front", "blocks"]


def test_steps_epochs_and_state_round_trip():
    torch.manual_seed(0)
    runs = []
    for resume in (False, True):
        model, (x, y) = TwoHeads(), data()
        kw = dict(hierarchy={"formulation": "vm", "levels": [["a"], ["b"]], "weighting": "modo"}, mode="faithful",
                  steps_per_epoch=2, accumulate=2)
        moo = MultiObjective(["a", "b"], model.encoder, **kw)
        out = []
        for i in range(6):
            if resume and i == 3:
                state = moo.state_dict()
                moo = MultiObjective(["a", "b"], model.encoder, **kw)
                moo.load_state_dict(state)
            losses, f = model.losses(x[i % 3:], y[i % 3:])
            out.append(moo.backward(losses, f))
        runs.append(out)
        assert (moo.step, moo.epoch) == (3, 1)                 # 6 micro-batches, 2 per step, 2 steps per epoch
    assert [r.step for r in runs[0]] == [0, 0, 1, 1, 2, 2]
    assert runs[0][-1].penalties == [pytest.approx(0.1 + 0.02)]   # VM's η1 = 0.1 + 0.02 per epoch, epoch 1
    for a, b in zip(*runs):
        assert torch.equal(a.weights, b.weights)
