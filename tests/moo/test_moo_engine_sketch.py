"""Faithful mode with a sketched Gram (``moo.sketch.k``): what it approximates and how closely.

The direction is exact given the weights (Σ_m w_m g_m from one shared backward); the weights come from an
unbiased estimate of the Gram of the exact per-objective gradients, whose error shrinks as k grows."""

import pytest
import torch

from soups.errors import ConfigError
from soups.moo.base import GramInfo
from soups.moo.engine import GradientEngine
from soups.moo.hierarchy import Hierarchy
from soups.moo.sketch import GramSketch
from tests.moo.test_moo_engine import Toy, flat_grads, shared_grad, zero

NAMES = ["o0", "o1", "o2"]


def exact_jacobians(model, terms):
    shared = [p for ps in model.shared().values() for p in ps]
    return [torch.stack([flat_grads(ls[s], shared) for ls in terms.losses]) for s in range(terms.num_samples)]


def sketched_engine(model, k, seed=0, kind="countsketch"):
    hierarchy = Hierarchy({"formulation": "vs", "weighting": "modo"}, NAMES)
    return GradientEngine("faithful", hierarchy, model.shared(), sketch=GramSketch(len(NAMES), k, seed, kind))


def test_direction_is_the_exact_weighted_sum_for_the_weights_it_returns():
    model, x = Toy(), torch.randn(8, 4)
    terms = model.terms(x)
    G = exact_jacobians(model, terms)
    zero(model)
    w = sketched_engine(model, k=16).backward(terms, 0, 0).weights
    torch.testing.assert_close(shared_grad(model), w @ (sum(G) / 2))


@pytest.mark.parametrize("kind", ["countsketch", "gaussian"])
def test_the_gram_is_unbiased_and_its_error_shrinks_with_k(kind):
    model, x = Toy(), torch.randn(8, 4)
    terms = model.terms(x)
    G = exact_jacobians(model, terms)
    exact = GramInfo.from_jacobians(G[0], G[1])
    scale = float(G[0].norm() * G[1].norm())

    def error(k, trials):
        mean, errs = torch.zeros_like(exact.K12), []
        for seed in range(trials):
            engine = sketched_engine(model, k, seed, kind)
            info = engine._sketched_grams(terms, engine._heads_backward(terms))
            mean += info.K12 / trials
            errs.append(float((info.K12 - exact.K12).abs().max()) / scale)
        return sum(errs) / trials, float((mean - exact.K12).abs().max()) / scale

    small, mean_small = error(4, 200)
    large, _ = error(256, 20)
    assert large < small / 3                    # error ~ 1/sqrt(k)
    assert mean_small < small / 4               # averaging independent sketches: the estimate is unbiased


def test_weights_approach_the_exact_faithful_weights_as_k_grows():
    model, x = Toy(), torch.randn(8, 4)
    exact = GradientEngine("faithful", Hierarchy({"formulation": "vs", "weighting": "modo"}, NAMES),
                           model.shared()).backward(model.terms(x), 0, 0).weights

    def error(k):
        errs = []
        for seed in range(5):
            zero(model)
            w = sketched_engine(model, k, seed, "gaussian").backward(model.terms(x), 0, 0).weights
            errs.append(float((w - exact).abs().max()))
        return sum(errs) / len(errs)

    coarse, fine = error(8), error(4096)
    assert fine < 0.03 and fine < coarse / 3        # one MoDo step from λ0: ~1/sqrt(k) error in the weights


def test_the_sketch_round_advances_every_update_and_is_checkpointed():
    model, x = Toy(), torch.randn(8, 4)
    engine = sketched_engine(model, k=8)
    for step in range(3):
        zero(model)
        engine.backward(model.terms(x), 0, step)
    state = engine.state_dict()
    assert state["sketch"]["round"] == 3
    other = sketched_engine(Toy(), k=8)
    other.load_state_dict(state)
    assert other.sketch.round == 3


def test_config_refuses_a_sketch_outside_faithful_mode_and_negative_k():
    from soups.train.config import load_config

    obj = {"objectives": [{"name": "a", "task": "asr", "lang": "en"}]}
    with pytest.raises(ConfigError, match="moo.sketch.k"):
        load_config(None, data={**obj, "moo": {"mode": "fast", "sketch": {"k": 64}}})
    with pytest.raises(ConfigError, match="moo.sketch.k"):
        load_config(None, data={**obj, "moo": {"mode": "faithful", "sketch": {"k": -1}}})
    assert load_config(None, data={**obj, "moo": {"mode": "faithful", "sketch": {"k": 64}}}).moo.sketch.k == 64
