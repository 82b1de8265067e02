"""Running conflict statistics: averages of cosines, zero gradients counted apart, JSON."""

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from soups.moo import ConflictStats, GramInfo, cosine_from_gram


def test_running_mean_and_undefined_pairs():
    stats = ConflictStats(["a", "b", "c"])
    g1 = torch.tensor([[1.0, 0.0], [-1.0, 1.0], [0.0, 2.0]], dtype=torch.float64)
    g2 = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]], dtype=torch.float64)  # c's gradient is zero
    stats.update(g1 @ g1.T)
    stats.update(GramInfo.from_jacobians(g2))
    mean = stats.mean_cosine()
    s = 2**-0.5
    assert mean[0, 1].item() == pytest.approx((-s + s) / 2)
    assert mean[0, 2].item() == pytest.approx(0.0)  # only step 1 defined: cos = 0
    assert mean[1, 2].item() == pytest.approx(s)  # only step 1
    assert not torch.isnan(mean).any()
    data = stats.to_json()["layers"]["__model__"]
    assert data["count"][1][2] == 1 and data["undefined"][1][2] == 1 and data["steps"] == 2
    assert torch.allclose(stats.mean_gram(), (g1 @ g1.T + g2 @ g2.T) / 2)


def test_never_defined_pair_is_nan_in_tensor_and_none_in_json():
    stats = ConflictStats(["a", "b"])
    stats.update(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    assert math.isnan(stats.mean_cosine()[0, 1].item())
    assert stats.to_json()["layers"]["__model__"]["mean_cosine"][0][1] is None


def test_per_layer_json_roundtrip_and_pairs():
    stats = ConflictStats(["x", "y"])
    early = torch.tensor([[1.0, -0.5], [-0.5, 1.0]])
    late = torch.tensor([[1.0, 0.5], [0.5, 1.0]])
    for _ in range(3):
        stats.update_layers({"early": early, "late": late})
    assert stats.layers == ["early", "late"]
    assert stats.mean_cosine("early")[0, 1].item() == pytest.approx(-0.5)
    assert stats.mean_cosine()[0, 1].item() == pytest.approx(0.0)  # model Gram = sum of blocks
    assert stats.conflicting_pairs(layer="early", statistic="per_step") == [("x", "y", pytest.approx(-0.5))]
    assert stats.conflicting_pairs(statistic="per_step") == []
    with pytest.raises(ValueError, match="needs the gradients"):
        stats.conflicting_pairs()  # the accumulated statistic: Grams alone are not enough
    text = json.dumps(stats.to_json())
    back = ConflictStats.from_json(json.loads(text))
    assert torch.equal(back.mean_cosine("early"), stats.mean_cosine("early"))
    back.update(early, layer="early")
    assert back.to_json()["layers"]["early"]["steps"] == 4
    with pytest.raises(ValueError):
        stats.update(torch.eye(3))


@pytest.mark.parametrize("scale", [1e-10, 1e15])
def test_cosines_are_scale_free(scale):
    G = torch.tensor([[1.0, 0.2], [-0.3, 1.0]], dtype=torch.float64)
    cos, defined = cosine_from_gram(G @ G.T)
    cos_s, defined_s = cosine_from_gram((G * scale) @ (G * scale).T)
    assert defined_s.all() and torch.allclose(cos, cos_s)


def _paper_cosine(grads: list[np.ndarray], i: int, j: int) -> float:
    """Appendix C: average each objective's gradient over the steps, then one cosine."""
    gi = np.mean([g[i] for g in grads], axis=0)
    gj = np.mean([g[j] for g in grads], axis=0)
    return float(gi @ gj / np.linalg.norm(gi) / np.linalg.norm(gj))


def test_accumulated_statistic_is_the_papers_cosine_of_averaged_gradients():
    rng = np.random.default_rng(0)
    steps = [rng.normal(size=(3, 7)) + np.array([[1, 0, 0, 0, 0, 0, 1.0]] * 3) for _ in range(20)]
    stats = ConflictStats(["a", "b", "c"])
    for G in steps:
        stats.update_gradients({"early": torch.tensor(G[:, :3]), "late": torch.tensor(G[:, 3:])})
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        assert stats.cosine()[i, j].item() == pytest.approx(_paper_cosine(steps, i, j), abs=1e-12)
        assert stats.cosine("early")[i, j].item() == pytest.approx(
            _paper_cosine([G[:, :3] for G in steps], i, j), abs=1e-12)
    back = ConflictStats.from_json(json.loads(json.dumps(stats.to_json())))
    assert torch.allclose(back.cosine(), stats.cosine(), atol=1e-12)
    assert torch.allclose(back.cosine("late"), stats.cosine("late"), atol=1e-12)


def test_the_two_statistics_can_disagree_in_sign():
    # two objectives with opposite mean gradients (-1 in the first coordinate) hidden under large noise
    # that is shared by both at each step: each step's cosine is mostly positive, the means are opposite
    rng = np.random.default_rng(1)
    steps = []
    for _ in range(100):
        noise = rng.normal(scale=5.0, size=4)
        for n in (noise, -noise):  # antithetic pairs: the noise averages out exactly
            steps.append(np.stack([n + np.array([1.0, 0, 0, 0]), n + np.array([-1.0, 0, 0, 0])]))
    stats = ConflictStats(["asr", "st"])
    for G in steps:
        stats.update_gradients(torch.tensor(G))
    assert stats.cosine(statistic="per_step")[0, 1].item() > 0.5
    assert stats.cosine()[0, 1].item() == pytest.approx(_paper_cosine(steps, 0, 1), abs=1e-12)
    assert stats.cosine()[0, 1].item() < -0.5
    assert stats.conflicting_pairs() == [("asr", "st", pytest.approx(stats.cosine()[0, 1].item()))]
    assert stats.conflicting_pairs(statistic="per_step") == []


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(2, 4), st.integers(0, 10_000))
def test_accumulated_cosine_property_matches_oracle(steps, m, seed):
    rng = np.random.default_rng(seed)
    grads = [rng.normal(size=(m, 5)) for _ in range(steps)]
    stats = ConflictStats([f"o{k}" for k in range(m)])
    for G in grads:
        stats.update_gradients({"l0": torch.tensor(G[:, :2]), "l1": torch.tensor(G[:, 2:])})
    cos = stats.cosine()
    for i in range(m):
        for j in range(m):
            assert cos[i, j].item() == pytest.approx(_paper_cosine(grads, i, j), abs=1e-9)
    assert torch.allclose(cos, cos.T)
