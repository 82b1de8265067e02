"""Running conflict statistics: averages of cosines, zero gradients counted apart, JSON."""

import json
import math

import pytest
import torch

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
    assert stats.conflicting_pairs(layer="early") == [("x", "y", pytest.approx(-0.5))]
    assert stats.conflicting_pairs() == []
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
