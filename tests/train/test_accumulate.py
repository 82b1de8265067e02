"""``train.accumulate``: N micro-batches per optimizer step give the mean of their gradients (oracle: the
same micro-batches run one by one in an accumulate=1 context from the same seed)."""

import pytest
import torch

from soups.errors import ConfigError
from soups.train.loop import make_context
from soups.train.step import micro_step, train_step
from tests.train.test_training import make_cfg

OVERRIDES = ["model.encoder.dropout=0.0", "model.decoder.dropout=0.0", "data.specaugment.enabled=false", "train.grad_clip=1e9",
             "train.precision=float64", "train.threads=1"]


def grads(model):
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("mode", ["linear", "fast", "faithful", "layers"])
def test_accumulated_gradient_is_the_mean_of_the_micro_batch_gradients(tiny_corpus, tmp_path, mode):
    extra = [f"moo.mode={mode}"] + ([] if mode == "linear" else ["moo.hierarchy={formulation: vs, weighting: mgda}"])
    if mode == "layers":  # every layer selected: the dynamic gradients replace the static ones everywhere
        extra.append("moo.layers.threshold=1.0")
    (tmp_path / "one").mkdir(), (tmp_path / "two").mkdir()
    one = make_context(make_cfg(tiny_corpus, *OVERRIDES, *extra), tmp_path / "one")
    two = make_context(make_cfg(tiny_corpus, *OVERRIDES, *extra, "train.accumulate=2"), tmp_path / "two")
    one.model.double(), two.model.double()
    expected = []
    for micro in range(2):
        one.optimizer.zero_grad(set_to_none=True)
        micro_step(one, micro)
        expected.append(grads(one.model))
    seen = {}
    two.optimizer.step = lambda *a, **k: seen.update(grads(two.model))   # capture what AdamW would get
    train_step(two)
    assert seen and set(seen) == set(expected[0]) | set(expected[1])
    for name, g in seen.items():
        want = (expected[0].get(name, 0) + expected[1].get(name, 0)) / 2
        torch.testing.assert_close(g, want, rtol=1e-9, atol=1e-12)
    assert two.step == 1                     # one optimizer step for two micro-batches


def test_accumulate_below_one_is_a_config_error(tiny_corpus):
    with pytest.raises(ConfigError, match="train.accumulate"):
        make_cfg(tiny_corpus, "train.accumulate=0")
