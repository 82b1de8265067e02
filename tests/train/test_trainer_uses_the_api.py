"""The public API and soups' trainer give the same update on the same model and batch, bitwise on CPU: the
trainer's terms through ``MultiObjective.backward_terms`` against the objectives' own per-half losses and taps
handed to ``MultiObjective.backward`` as a user would (heads found in the autograd graph)."""

import pytest
import torch

from soups.bench import moo_setup as ms
from soups.train.step import step_terms
from tests.train.test_encoder_forward import small_config


def run(mode: str, public: bool):
    s = ms.build_setup(small_config("joint", mode), seconds=1.0, device="cpu", mode=mode, seed=5)
    views = s.model.encode(s.batches, joint=True)
    terms, _ = step_terms(s.model, views, s.batches, halves=mode != "linear", split_heads=False)
    if public:
        names = s.model.names
        losses = {n: tuple(ls) if len(ls) == 2 else ls[0] for n, ls in zip(names, terms.losses)}
        rows = {n: tuple(r) for n, r in zip(names, terms.sample_rows)} if terms.sample_rows else None
        rec = s.moo.backward(losses, {n: ts for n, ts in zip(names, terms.taps)}, rows=rows)
    else:
        rec = s.moo.backward_terms(terms)
    return {n: p.grad.clone() for n, p in s.model.named_parameters() if p.grad is not None}, rec


@pytest.mark.parametrize("mode", ["linear", "fast", "faithful"])
def test_public_backward_equals_the_trainers_bitwise(mode):
    (trainer, rec_t), (api, rec_a) = run(mode, public=False), run(mode, public=True)
    assert trainer.keys() == api.keys() and any(n.startswith("objectives.") for n in trainer)
    assert all(torch.equal(trainer[n], api[n]) for n in trainer)
    assert torch.equal(rec_t.weights, rec_a.weights)
