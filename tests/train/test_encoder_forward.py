"""``train.encoder_forward``: one encoder call per stream, or one per batch half of each stream, gives the
same losses and the same exact per-objective gradients as one joint call over every stream (float64 oracle),
and ``auto`` picks per-half forwards in faithful/layers mode (double sampling) only."""

import pytest
import torch

from soups.bench import moo_setup as ms
from soups.train.config import load_config
from soups.train.step import step_terms

OBJECTIVES = [{"name": "asr_en", "task": "asr", "lang": "en"}, {"name": "asr_fr", "task": "asr", "lang": "fr"},
              {"name": "st_fr_en", "task": "st", "lang": "fr", "head": "decoder"},
              {"name": "ssl", "task": "ssl", "head": "bestrq"}]
SMALL = {"encoder": {"d_model": 32, "num_blocks": 2, "num_heads": 2, "subsampling_channels": 8, "dropout": 0.0},
         "decoder": {"num_layers": 1, "num_heads": 2, "ff_dim": 64, "dropout": 0.0}, "ssl": {"num_codes": 32}}


def small_config(forward: str = "auto", mode: str = "faithful"):
    return load_config(None, data={"objectives": OBJECTIVES, "model": {"preset": "tiny", **SMALL},
                                   "data": {"batch_cuts": 3, "specaugment": {"enabled": False}},
                                   "moo": {"mode": mode, "hierarchy": {"formulation": "vs", "weighting": "modo"}},
                                   "train": {"encoder_forward": forward}})


def losses_and_jacobians(joint: bool, halves: bool = False, calls: list | None = None):
    s = ms.build_setup(small_config(), seconds=1.0, device="cpu", mode="modo", seed=3)
    s.model.double()
    for b in s.batches.values():
        b.feats = b.feats.double()
    if calls is not None:
        s.model.encoder.register_forward_hook(lambda mod, args, out: calls.append(len(args[0])))
    views = s.model.encode(s.batches, joint=joint, halves=halves)
    terms, _ = step_terms(s.model, views, s.batches, halves=True)
    if calls is not None:
        calls.append(terms.tap_samples)
    tap_grads = s.moo.engine._heads_backward(terms)
    heads = [p.grad.clone() for ps in terms.head_params for p in ps if p.grad is not None]
    G = s.moo.engine._jacobians(terms, tap_grads, s.moo.engine.shared)
    return [float(l.detach()) for ls in terms.losses for l in ls], heads, G


def test_per_stream_forward_equals_the_joint_forward_in_float64():
    la, ha, Ga = losses_and_jacobians(joint=True)
    lb, hb, Gb = losses_and_jacobians(joint=False)
    assert la == pytest.approx(lb, rel=1e-10, abs=1e-12)
    assert len(ha) == len(hb) and all(torch.allclose(a, b, rtol=1e-8, atol=1e-11) for a, b in zip(ha, hb))
    assert len(Ga) == len(Gb) == 2                       # two batch halves
    for a, b in zip(Ga, Gb):
        assert a.shape == b.shape and a.shape[0] == len(OBJECTIVES)
        assert torch.allclose(a, b, rtol=1e-8, atol=1e-11)
        assert a.abs().sum() > 0                       # not trivially equal


def test_per_half_forward_equals_the_joint_forward_in_float64():
    la, ha, Ga = losses_and_jacobians(joint=True)
    calls = []
    lb, hb, Gb = losses_and_jacobians(joint=False, halves=True, calls=calls)
    *sizes, tap_samples = calls
    assert sizes == [2, 1] * 3                         # 3 streams of 3 utterances: one call per half (2 + 1)
    assert all(ts is not None and set(ts) == {0, 1} for ts in tap_samples)
    assert la == pytest.approx(lb, rel=1e-10, abs=1e-12)
    assert len(ha) == len(hb) and all(torch.allclose(a, b, rtol=1e-8, atol=1e-11) for a, b in zip(ha, hb))
    for a, b in zip(Ga, Gb):
        assert a.shape == b.shape and torch.allclose(a, b, rtol=1e-8, atol=1e-11)
        assert a.abs().sum() > 0


def test_a_one_utterance_stream_takes_one_call():
    """A 1-utterance batch is both MoDo samples: one encoder call, samples picked by rows."""
    from soups.multitask import _HalvedStream, _StreamRows

    s = ms.build_setup(small_config(), seconds=1.0, device="cpu", mode="modo", seed=3)
    one = {name: b.select([0]) for name, b in s.batches.items()}
    views = s.model.encode(one, joint=False, halves=True)
    assert all(isinstance(v, _StreamRows) for v in views.values())
    views = s.model.encode(s.batches, joint=False, halves=True)
    assert all(isinstance(v, _HalvedStream) for v in views.values())


@pytest.mark.parametrize("forward,mode,halves", [
    ("auto", "faithful", True), ("auto", "layers", True), ("auto", "linear", False), ("auto", "fast", False),
    ("per_stream", "faithful", False), ("per_half", "fast", True), ("per_half", "linear", False),
    ("joint", "faithful", False)])
def test_auto_rule_for_halves(forward, mode, halves):
    assert small_config(forward, mode).half_encoder_forward() is halves


@pytest.mark.parametrize("forward,mode,joint", [
    ("auto", "faithful", False), ("auto", "layers", False), ("auto", "linear", True), ("auto", "fast", True),
    ("joint", "faithful", True), ("per_stream", "linear", False)])
def test_auto_rule(forward, mode, joint):
    assert small_config(forward, mode).joint_encoder_forward() is joint


def test_an_unknown_encoder_forward_is_a_config_error():
    from soups.errors import ConfigError

    with pytest.raises(ConfigError, match="train.encoder_forward"):
        small_config("sometimes")
