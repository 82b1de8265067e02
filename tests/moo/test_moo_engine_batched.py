"""Opt-in batched per-objective gradients (``GradientEngine.batched_vjp``: one backward vmapped over the M·S
cotangents) give the same Jacobians and the same update as the sequential VJPs, on soups' own model."""

import pytest
import torch

from soups.bench import moo_setup as ms
from soups.train.step import step_terms
from tests.train.test_encoder_forward import small_config


def update(mode: str, batched: bool):
    cfg = small_config("joint", mode)
    cfg.moo.batched_vjp = batched                      # the config key, through build_moo
    s = ms.build_setup(cfg, seconds=1.0, device="cpu", mode=mode, seed=5)
    assert s.moo.engine.batched_vjp is batched
    views = s.model.encode(s.batches, joint=True)
    terms, _ = step_terms(s.model, views, s.batches, halves=True)
    rec = s.moo.backward_terms(terms)
    return {n: p.grad.clone() for n, p in s.model.named_parameters() if p.grad is not None}, rec


@pytest.mark.parametrize("mode", ["faithful", "layers"])
def test_batched_vjps_give_the_sequential_update(mode):
    (seq, rec_s), (bat, rec_b) = update(mode, False), update(mode, True)
    assert seq.keys() == bat.keys() and any(n.startswith("encoder.") for n in seq)
    for n in seq:
        torch.testing.assert_close(bat[n], seq[n], rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(rec_b.weights, rec_s.weights, rtol=1e-5, atol=1e-7)
    assert rec_b.gram is not None and torch.allclose(rec_b.gram, rec_s.gram, rtol=1e-4, atol=1e-8)
