"""The gradient engine against independent autograd oracles."""

import pytest
import torch
from torch import nn

from soups.moo.base import GramInfo
from soups.moo.engine import GradientEngine, StepTerms
from soups.moo.hierarchy import Hierarchy
from soups.moo.taps import pooled_sample_taps


class Toy(nn.Module):
    """Two shared blocks (a, b), a learnable bias at the tap, and one linear head per objective."""

    def __init__(self, m: int = 3, d: int = 4):
        super().__init__()
        torch.manual_seed(0)
        self.a, self.b = nn.Linear(d, d), nn.Linear(d, d)
        self.tap_bias = nn.Parameter(torch.zeros(d))
        self.heads = nn.ModuleList(nn.Linear(d, 1) for _ in range(m))

    def shared(self):
        return {"a": list(self.a.parameters()), "b": list(self.b.parameters()), "bias": [self.tap_bias]}

    def terms(self, x: torch.Tensor, halves: bool = True, split_heads: bool = False) -> StepTerms:
        """``split_heads``: heads read detached leaves of their taps (as ``MultiTaskModel`` hands them over)."""
        h = self.b(torch.tanh(self.a(x))) + self.tap_bias
        losses, taps, rows, inputs = [], [], [], []
        n = x.shape[0]
        parts = [torch.arange(0, n // 2), torch.arange(n // 2, n)] if halves else [torch.arange(n)]
        for m, head in enumerate(self.heads):
            tap = h[:, :]  # this objective's own node
            leaf = tap.detach().requires_grad_() if split_heads else tap
            sign = 1.0 if m % 2 == 0 else -1.0
            losses.append([((head(leaf[r]) - sign * (m + 1)) ** 2).mean() for r in parts])
            taps.append([tap])
            inputs.append([leaf])
            rows.append(parts)
        return StepTerms(losses, taps, rows if halves else None, [list(hd.parameters()) for hd in self.heads],
                         head_inputs=inputs if split_heads else None)


def flat_grads(loss, params):
    return torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params, retain_graph=True)])


def zero(model):
    for p in model.parameters():
        p.grad = None


def shared_grad(model):
    return torch.cat([p.grad.reshape(-1) for ps in model.shared().values() for p in ps])


@pytest.mark.parametrize("halves", [True, False])
def test_faithful_equals_stacked_autograd_grad_and_heads_get_their_own_gradient(halves):
    model, x = Toy(), torch.randn(8, 4)
    shared = [p for ps in model.shared().values() for p in ps]
    terms = model.terms(x, halves)
    G = [torch.stack([flat_grads(ls[s], shared) for ls in terms.losses]) for s in range(terms.num_samples)]
    head_oracle = [flat_grads(sum(ls) / len(ls), list(h.parameters())) for ls, h in zip(terms.losses, model.heads)]
    # MoDo needs two samples; with one sample use MGDA (a single-sample weighting)
    weighting = "modo" if halves else "mgda"
    hierarchy = Hierarchy({"formulation": "vs", "weighting": weighting}, ["o0", "o1", "o2"])
    oracle_w = hierarchy.fresh().weights(GramInfo.from_jacobians(G[0], G[1] if halves else None))
    engine = GradientEngine("faithful", hierarchy, model.shared())
    zero(model)
    info = engine.backward(terms, epoch=0, step=0)
    torch.testing.assert_close(info.weights, oracle_w)
    torch.testing.assert_close(shared_grad(model), oracle_w @ (sum(G) / len(G)))
    for head, g in zip(model.heads, head_oracle):
        torch.testing.assert_close(torch.cat([p.grad.reshape(-1) for p in head.parameters()]), g)


def test_fast_mode_gram_is_the_exact_gram_of_a_bias_at_the_taps():
    model, x = Toy(), torch.randn(8, 4)
    terms = model.terms(x)
    G = [torch.stack([flat_grads(ls[s], [model.tap_bias]) for ls in terms.losses]) for s in range(2)]
    oracle = GramInfo.from_jacobians(G[0], G[1])
    hierarchy = Hierarchy({"formulation": "vs", "weighting": "modo"}, ["o0", "o1", "o2"])
    engine = GradientEngine("fast", hierarchy, model.shared())
    grams = engine._tap_grams(terms, engine._heads_backward(terms))
    torch.testing.assert_close(grams.K, oracle.K)
    torch.testing.assert_close(grams.K12, oracle.K12)


def test_fast_mode_direction_is_the_weighted_sum_of_exact_gradients():
    model, x = Toy(), torch.randn(8, 4)
    shared = [p for ps in model.shared().values() for p in ps]
    terms = model.terms(x)
    G = torch.stack([flat_grads(sum(ls) / 2, shared) for ls in terms.losses])
    engine = GradientEngine("fast", Hierarchy({"formulation": "vs", "weighting": "modo"}, ["o0", "o1", "o2"]),
                            model.shared())
    zero(model)
    w = engine.backward(terms, 0, 0).weights
    torch.testing.assert_close(shared_grad(model), w @ G)


@pytest.mark.parametrize("split_heads", [False, True])
def test_linear_mode_shared_gets_the_weighted_sum_and_heads_their_own_gradient(split_heads):
    model, x = Toy(), torch.randn(8, 4)
    w = torch.tensor([0.5, 2.0, 0.0], dtype=torch.float64)
    shared = [p for ps in model.shared().values() for p in ps]
    terms = model.terms(x, halves=False)
    oracle = flat_grads(sum(float(w[m]) * ls[0] for m, ls in enumerate(terms.losses)), shared)
    heads_oracle = [flat_grads(ls[0], list(h.parameters())) for ls, h in zip(terms.losses, model.heads)]
    if split_heads:
        terms = model.terms(x, halves=False, split_heads=True)
    engine = GradientEngine("linear", Hierarchy({"formulation": "vs", "weighting": "linear"}, ["o0", "o1", "o2"]),
                            model.shared())
    zero(model)
    engine.backward(terms, 0, 0, static_weights=w)
    torch.testing.assert_close(shared_grad(model), oracle)
    for head, want in zip(model.heads, heads_oracle):   # unweighted: even the objective with w = 0
        torch.testing.assert_close(torch.cat([p.grad.reshape(-1) for p in head.parameters()]), want)


def test_linear_heads_weighted_keeps_the_plain_weighted_backward():
    model, x = Toy(), torch.randn(8, 4)
    w = torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64)
    terms = model.terms(x, halves=False)
    heads_oracle = [float(w[m]) * flat_grads(ls[0], list(h.parameters()))
                    for m, (ls, h) in enumerate(zip(terms.losses, model.heads))]
    engine = GradientEngine("linear", Hierarchy({"formulation": "vs", "weighting": "linear"}, ["o0", "o1", "o2"]),
                            model.shared(), linear_heads="weighted")
    zero(model)
    engine.backward(terms, 0, 0, static_weights=w)
    for head, want in zip(model.heads, heads_oracle):
        torch.testing.assert_close(torch.cat([p.grad.reshape(-1) for p in head.parameters()]), want)
    with pytest.raises(ValueError, match="linear_heads"):
        GradientEngine("linear", engine.hierarchy, model.shared(), linear_heads="both")


def test_update_every_reuses_the_last_weights():
    model, x = Toy(), torch.randn(8, 4)
    engine = GradientEngine("fast", Hierarchy({"formulation": "vs", "weighting": "modo"}, ["o0", "o1", "o2"]),
                            model.shared(), update_every=3)
    w0 = engine.backward(model.terms(x), 0, step=0).weights.clone()
    w1 = engine.backward(model.terms(torch.randn(8, 4)), 0, step=1).weights
    w3 = engine.backward(model.terms(torch.randn(8, 4)), 0, step=3).weights
    assert torch.equal(w0, w1) and not torch.equal(w0, w3)


def test_one_utterance_batch_used_as_both_samples_keeps_the_exact_gradient():
    model, x = Toy(), torch.randn(1, 4)
    h = model.b(torch.tanh(model.a(x))) + model.tap_bias
    taps = [h[:, :] for _ in model.heads]
    losses = [[((hd(t) - 1) ** 2).mean()] * 2 for hd, t in zip(model.heads, taps)]
    rows = [[torch.arange(1), torch.arange(1)] for _ in model.heads]
    terms = StepTerms(losses, [[t] for t in taps], rows, [list(hd.parameters()) for hd in model.heads])
    shared = [p for ps in model.shared().values() for p in ps]
    G = torch.stack([flat_grads(ls[0], shared) for ls in losses])
    engine = GradientEngine("faithful", Hierarchy({"formulation": "vs", "weighting": "modo"}, ["o0", "o1", "o2"]),
                            model.shared())
    got = engine._jacobians(terms, engine._heads_backward(terms), shared)
    torch.testing.assert_close(got[0], G)
    torch.testing.assert_close(got[1], G)


def test_layer_selection_picks_the_conflicting_block_and_still_updates_the_other():
    # block "a" feeds objective 0 and 1 with opposite signs (conflict); block "b" feeds both alike
    torch.manual_seed(1)
    a, b = nn.Parameter(torch.randn(3)), nn.Parameter(torch.randn(3))
    heads = [nn.Parameter(torch.ones(1)) for _ in range(2)]
    x = torch.randn(4, 3)

    def terms():
        taps, losses = [], []
        for m, sgn in enumerate((1.0, -1.0)):
            tap = torch.stack([(x * a).sum(1) * sgn, (x * b).sum(1)], dim=1)
            taps.append([tap])
            losses.append([((tap * heads[m]).sum(1) - 3.0).pow(2).mean()])
        return StepTerms(losses, taps, None, [[h] for h in heads])

    hierarchy = Hierarchy({"formulation": "vs", "weighting": "mgda"}, ["o0", "o1"])
    engine = GradientEngine("layers", hierarchy, {"a": [a], "b": [b]})
    t = terms()
    ga = torch.stack([torch.autograd.grad(ls[0], [a], retain_graph=True)[0] for ls in t.losses])
    gb = torch.stack([torch.autograd.grad(ls[0], [b], retain_graph=True)[0] for ls in t.losses])
    cos_a = torch.nn.functional.cosine_similarity(ga[0], ga[1], dim=0)
    cos_b = torch.nn.functional.cosine_similarity(gb[0], gb[1], dim=0)
    assert cos_a < 0 < cos_b  # the construction really has one conflicting block
    info = engine.backward(t, 0, 0)
    assert info.selected == ["a"]
    static = engine.static.static_weights(0, 0).to(gb)
    torch.testing.assert_close(b.grad, static @ gb)               # non-conflicting: static weights
    dyn = Hierarchy({"formulation": "vs", "weighting": "mgda"}, ["o0", "o1"]).weights(GramInfo.from_jacobians(ga))
    torch.testing.assert_close(a.grad, dyn.to(ga) @ ga)           # conflicting: MGDA on its own block
    assert b.grad.abs().sum() > 0


@pytest.mark.parametrize("rows", [[[0, 2], [1, 3, 4]], [[0], [0]], [[0, 1, 2], [2, 3]]])
def test_pooled_sample_taps_equal_the_summed_per_sample_cotangents(rows):
    """Fast mode's Gram input from per-row sums == pooling the explicit per-sample cotangents (including
    rows shared by both samples, e.g. a 1-utterance batch used as both halves)."""
    from types import SimpleNamespace

    gen = torch.Generator().manual_seed(0)
    tap_grads = [[torch.randn(5, 7, 3, generator=gen), torch.randn(5, 2, generator=gen)]]
    terms = SimpleNamespace(local=[True], num_samples=2, sample_rows=[[torch.tensor(r) for r in rows]],
                            own_taps=lambda m: None)
    pooled = pooled_sample_taps(terms, tap_grads, 0)
    explicit = GradientEngine._sample_cotangents(None, terms, tap_grads, 0)
    assert len(pooled) == len(explicit) == 2
    for vec, cots in zip(pooled, explicit):
        torch.testing.assert_close(vec, torch.cat([c.reshape(-1, c.shape[-1]).sum(0) for c in cots]))


def test_taps_of_their_own_sample_get_cotangents_only_for_it():
    """One encoder call per batch half: each sample's taps are its own (``tap_samples``); sample s's
    cotangents are S × the tap gradient at its taps and absent at the other's, and fast mode's pooled vector
    of a sample equals the pooled rows of the same gradients laid out in one shared tap."""
    from types import SimpleNamespace

    gen = torch.Generator().manual_seed(1)
    halves = [torch.randn(2, 7, 3, generator=gen), torch.randn(3, 7, 3, generator=gen)]   # rows 0-1 | 2-4
    own = SimpleNamespace(local=[True], num_samples=2, own_taps=lambda m: [0, 1])
    cots = GradientEngine._sample_cotangents(None, own, [halves], 0)
    assert cots[0][1] is None and cots[1][0] is None
    torch.testing.assert_close(cots[0][0], 2 * halves[0])
    torch.testing.assert_close(cots[1][1], 2 * halves[1])
    shared = SimpleNamespace(local=[True], num_samples=2, sample_rows=[[torch.tensor([0, 1]), torch.tensor([2, 3, 4])]],
                             own_taps=lambda m: None)
    pooled_rows = pooled_sample_taps(shared, [[torch.cat(halves)]], 0)
    pooled_own = pooled_sample_taps(own, [halves], 0)
    for a, b in zip(pooled_own, pooled_rows):
        torch.testing.assert_close(a, b)


def _same_state(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_state(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same_state(x, y) for x, y in zip(a, b))
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    return a == b


@pytest.mark.parametrize("mode", ["linear", "fast", "faithful", "layers"])
@pytest.mark.parametrize("what", ["loss", "gradient"])
def test_a_non_finite_step_is_refused_before_any_weighting_moves(mode, what):
    """NaN in one objective's loss (or a finite loss with a NaN gradient): NonFiniteStep names the objective,
    and λ (MoDo, per level and per layer) is exactly what it was before the step."""
    import copy

    from soups.moo.engine import NonFiniteStep

    model, x = Toy(), torch.randn(8, 4)
    engine = GradientEngine(mode, Hierarchy({"formulation": "vs", "weighting": "modo"}, ["o0", "o1", "o2"]),
                            model.shared())
    engine.backward(model.terms(x), 0, 0)        # a good step first: λ has moved away from uniform
    before = copy.deepcopy(engine.state_dict())
    terms = model.terms(torch.randn(8, 4))
    if what == "loss":
        terms.losses[1] = [l * float("nan") for l in terms.losses[1]]
    else:  # sqrt at 0: a finite value (0) whose gradient is inf * 0 = NaN
        terms.losses[1] = [l + (terms.taps[1][0].sum() * 0.0).sqrt() for l in terms.losses[1]]
    if mode == "linear":   # no weighting to protect: the trainer's gradient-norm check drops the step
        engine.backward(terms, 0, 1)
        assert not torch.isfinite(shared_grad(model)).all()
        return
    with pytest.raises(NonFiniteStep) as err:
        engine.backward(terms, 0, 1)
    assert (err.value.objective, err.value.what) == (1, what)
    assert _same_state(engine.state_dict(), before)


def _mgda_weights(G):
    """MGDA for two objectives in closed form: λ0 = clip(⟨g1 − g0, g1⟩ / ‖g0 − g1‖², 0, 1)."""
    g0, g1 = G[0].double(), G[1].double()
    lam = float(((g1 - g0) @ g1) / (g0 - g1).pow(2).sum()) if (g0 - g1).abs().sum() > 0 else 0.5
    lam = min(max(lam, 0.0), 1.0)
    return torch.tensor([lam, 1 - lam], dtype=torch.float64)


@pytest.mark.parametrize("fixed", [["a"], ["a", "b"]])
def test_layers_reading_b_weights_the_whole_model_by_the_selected_layers_gram(fixed):
    """Reading (b) of layer selection: λ from the Gram of the (fixed) selected layers only — here MGDA in
    closed form, an oracle independent of soups' solver — applied to every shared parameter, heads with
    their own gradient; with update_every = 3 the next steps reuse λ and compute no per-objective gradient."""
    model = Toy(m=2)
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(3))
    hierarchy = Hierarchy({"formulation": "vs", "weighting": "mgda"}, ["o0", "o1"])
    groups = model.shared()
    engine = GradientEngine("layers", hierarchy, groups, layers_apply="encoder", update_every=3)
    engine.selector.fix(fixed)
    t = model.terms(x, halves=False)
    params = {n: ps for n, ps in groups.items()}
    all_shared = [p for ps in params.values() for p in ps]
    sel = [p for n in fixed for p in params[n]]
    G_sel = torch.stack([flat_grads(ls[0], sel) for ls in t.losses])
    G_all = torch.stack([flat_grads(ls[0], all_shared) for ls in t.losses])
    heads = [flat_grads(ls[0], list(model.heads[m].parameters())) for m, ls in enumerate(t.losses)]
    info = engine.backward(t, 0, 0)
    lam = _mgda_weights(G_sel)
    torch.testing.assert_close(info.weights.double(), lam, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(shared_grad(model), (lam.float() @ G_all), atol=1e-5, rtol=1e-5)
    for m, head in enumerate(model.heads):
        torch.testing.assert_close(torch.cat([p.grad.reshape(-1) for p in head.parameters()]), heads[m])
    assert info.selected == fixed and info.layer_scores is None          # fixed: no probe
    calls = []
    engine._jacobians = lambda *a, **k: calls.append(1)                        # must not be needed now
    zero(model)
    info2 = engine.backward(model.terms(x, halves=False), 0, 1)
    assert calls == [] and torch.equal(info2.weights, info.weights)


@pytest.mark.parametrize("fixed", [["a"], ["b"], ["a", "bias"]])
def test_layers_reading_a_dynamic_on_the_selected_static_elsewhere(fixed):
    """Reading (a): each selected layer gets λ_layerᵀ G_layer (MGDA of its own Gram in closed form), every
    other shared layer the static VS update (1/M each) — whether the engine takes every layer's rows (the
    input-side layer "a" selected: its VJPs traverse everything anyway) or one static backward."""
    model = Toy(m=2)
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(5))
    engine = GradientEngine("layers", Hierarchy({"formulation": "vs", "weighting": "mgda"}, ["o0", "o1"]),
                            model.shared())
    engine.selector.fix(fixed)
    t = model.terms(x, halves=False)
    want = []
    for name, ps in model.shared().items():
        G = torch.stack([flat_grads(ls[0], ps) for ls in t.losses])
        want.append((_mgda_weights(G).float() if name in fixed else torch.full((2,), 0.5)) @ G)
    calls = []
    backward = torch.autograd.backward
    torch.autograd.backward = lambda *a, **k: calls.append(1) or backward(*a, **k)
    try:
        info = engine.backward(t, 0, 0)
    finally:
        torch.autograd.backward = backward
    assert info.selected == fixed
    torch.testing.assert_close(shared_grad(model), torch.cat(want), atol=1e-5, rtol=1e-5)
    assert calls == ([] if "a" in fixed else [1])   # rows of every layer replace the static backward


@pytest.mark.parametrize("apply", ["layers", "encoder"])
def test_a_streamed_probe_selects_like_an_exact_one_without_holding_every_layer(apply):
    """``sketch_k`` > 0: the probe folds each (objective, sample) gradient into per-layer count sketches; no
    per-objective Jacobian of the whole shared model is ever stacked, the scores match the exact probe's
    within the sketch's error, and the update that follows is the exact-probe engine's."""
    from soups.moo.layers import LayerSelector

    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(4))
    results = []
    for k in (0, 8192):
        model = Toy(m=3)
        h = Hierarchy({"formulation": "vs", "weighting": "mgda"}, ["o0", "o1", "o2"])
        engine = GradientEngine("layers", h, model.shared(), LayerSelector(h, threshold=-0.45, sketch_k=k),
                                layers_apply=apply)
        sizes, jac = [], engine._jacobians
        engine._jacobians = lambda t, g, params: sizes.append(len(params)) or jac(t, g, params)
        info = engine.backward(model.terms(x), 0, 0)
        results.append((info, shared_grad(model), sizes))
    (exact, g_exact, sizes_exact), (streamed, g_streamed, sizes_streamed) = results
    assert exact.selected == streamed.selected == ["a"]     # scores a -0.56, b and bias -0.39
    assert sizes_exact == [5]                                  # the exact probe: every shared tensor at once
    # streamed: no such probe; then the rows the update needs — reading (a) with the input-side layer selected
    # takes every layer's (see the reading (a) test), reading (b) the selected layer's (weight and bias of a)
    assert sizes_streamed == ([5] if apply == "layers" else [2])
    for name, score in exact.layer_scores.items():
        assert streamed.layer_scores[name] == pytest.approx(score, abs=0.1)
    torch.testing.assert_close(g_streamed, g_exact)


def test_layers_fixed_selection_reading_a_matches_a_probed_one():
    """A fixed selection gives what a probe that selects the same layers gives (reading (a))."""
    torch.manual_seed(1)
    x = torch.randn(6, 4)
    results = []
    for fix in (True, False):
        model = Toy(m=2)
        engine = GradientEngine("layers", Hierarchy({"formulation": "vs", "weighting": "mgda"}, ["o0", "o1"]),
                                model.shared())
        if fix:
            engine.selector.fix(["a"])
        else:
            engine.selector.select = lambda grams, s=engine.selector: setattr(s, "selected", frozenset(["a"])) \
                or s.scores.update({n: 0.0 for n in grams}) or s.selected
        info = engine.backward(model.terms(x, halves=False), 0, 0)
        results.append((shared_grad(model), info.selected))
    torch.testing.assert_close(results[0][0], results[1][0])
    assert results[0][1] == results[1][1] == ["a"]
