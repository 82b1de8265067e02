"""Heads on detached leaves (``step_terms(split_heads=True)``, the default): every parameter gets the same
gradient as with the heads on the encoder's own graph (float64), and the heads' graph is freed by the heads'
backward — what keeps fast mode's peak memory at linear's (the heads' saved tensors are not held through
the shared backward; docs/performance.md)."""

import pytest
import torch

from soups.bench import moo_setup as ms
from soups.train.step import step_terms
from tests.train.test_encoder_forward import small_config


def gradients(mode: str, split: bool, halves: bool):
    s = ms.build_setup(small_config("joint", mode), seconds=1.0, device="cpu", mode=mode, seed=5)
    s.model.double()
    for b in s.batches.values():
        b.feats = b.feats.double()
    views = s.model.encode(s.batches, joint=True)
    terms, _ = step_terms(s.model, views, s.batches, halves=halves, split_heads=split)
    s.moo.engine.backward(terms, 0, 0)
    return {n: p.grad.clone() for n, p in s.model.named_parameters() if p.grad is not None}, terms


@pytest.mark.parametrize("mode,halves", [("linear", False), ("fast", True), ("faithful", True)])
def test_split_heads_give_the_same_gradients(mode, halves):
    a, _ = gradients(mode, split=True, halves=halves)
    b, _ = gradients(mode, split=False, halves=halves)
    assert a.keys() == b.keys()
    assert any(n.startswith("encoder.") for n in a) and any(n.startswith("objectives.") for n in a)
    for n in a:
        assert torch.allclose(a[n], b[n], rtol=1e-8, atol=1e-12), n
    assert sum(float(g.abs().sum()) for g in a.values()) > 0


@pytest.mark.parametrize("split", [True, False])
def test_the_heads_backward_frees_the_heads_graph_only_when_split(split):
    s = ms.build_setup(small_config("joint", "fast"), seconds=1.0, device="cpu", mode="fast", seed=5)
    views = s.model.encode(s.batches, joint=True)
    terms, _ = step_terms(s.model, views, s.batches, halves=True, split_heads=split)
    s.moo.engine._heads_backward(terms)
    loss, inputs = terms.losses[0][0], (terms.head_inputs or terms.taps)[0]
    if split:
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            torch.autograd.grad(loss, inputs)
    else:
        assert torch.autograd.grad(loss, inputs)[0].abs().sum() > 0
    s.moo.engine._shared_backward(terms, [[torch.ones_like(t) for t in ts] for ts in terms.taps], torch.ones(4))
    assert all(p.grad is not None for p in s.model.encoder.parameters() if p.requires_grad)


def test_a_frozen_encoder_still_trains_the_heads_in_linear_mode():
    reference, _ = gradients("linear", split=True, halves=False)
    s = ms.build_setup(small_config("joint", "linear"), seconds=1.0, device="cpu", mode="linear", seed=5)
    s.model.double()
    for b in s.batches.values():
        b.feats = b.feats.double()
    s.model.encoder.requires_grad_(False)
    views = s.model.encode(s.batches, joint=True)
    terms, _ = step_terms(s.model, views, s.batches, halves=False)
    s.moo.engine.backward(terms, 0, 0)
    grads = {n: p.grad for n, p in s.model.named_parameters() if p.grad is not None}
    heads = {n: g for n, g in reference.items() if n.startswith("objectives.")}
    assert heads and grads.keys() == heads.keys()          # no encoder gradient, every head's
    assert all(torch.allclose(grads[n], heads[n], rtol=1e-8, atol=1e-12) for n in heads)
