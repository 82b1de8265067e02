"""Sketched cross Gram: unbiased over seeds, variance decreasing with k, block streaming."""

import pytest
import torch

from soups.errors import ConfigError
from soups.moo import GramSketch

SPLITS = [0, 70, 150, 200]


def _data():
    gen = torch.Generator().manual_seed(0)
    G1 = torch.randn(3, 200, generator=gen, dtype=torch.float64)
    G2 = 0.5 * G1 + torch.randn(3, 200, generator=gen, dtype=torch.float64)
    return G1, G2


def _estimate(G1, G2, k, seed, kind):
    sk = GramSketch(3, k, seed=seed, kind=kind)
    for b in range(len(SPLITS) - 1):
        sl = slice(SPLITS[b], SPLITS[b + 1])
        sk.add(f"block{b}", G1[:, sl], G2[:, sl])
    assert sk.S1.shape == (3, k)  # O(M·k) state
    return sk.estimate(), sk.gram_info()


@pytest.mark.parametrize("kind", ["countsketch", "gaussian", "rademacher"])
def test_unbiased_over_seeds(kind):
    G1, G2 = _data()
    n = 300
    est = torch.stack([_estimate(G1, G2, 16, s, kind)[0] for s in range(n)])
    truth = G1 @ G2.T
    stderr = est.std(0) / n**0.5
    assert ((est.mean(0) - truth).abs() <= 4.5 * stderr + 1e-9).all()
    G = (G1 + G2) / 2
    K_est = torch.stack([_estimate(G1, G2, 16, s, kind)[1].K for s in range(100)])
    assert ((K_est.mean(0) - G @ G.T).abs() <= 4.5 * K_est.std(0) / 10 + 1e-9).all()


def test_variance_decreases_with_k():
    G1, G2 = _data()
    truth = G1 @ G2.T
    mse = {}
    for k in (4, 32, 256):
        errs = [(_estimate(G1, G2, k, s, "countsketch")[0] - truth).pow(2).mean() for s in range(60)]
        mse[k] = torch.stack(errs).mean().item()
    assert mse[4] > 3 * mse[32] > 9 * mse[256]


def test_deterministic_per_seed_and_fresh_after_reset():
    G1, G2 = _data()
    a, _ = _estimate(G1, G2, 8, 5, "countsketch")
    b, _ = _estimate(G1, G2, 8, 5, "countsketch")
    assert torch.equal(a, b)
    sk = GramSketch(3, 8, seed=5)
    sk.add(0, G1, G2)
    first = sk.estimate()
    sk.reset()
    sk.add(0, G1, G2)
    assert not torch.equal(first, sk.estimate()) and sk.state_dict()["round"] == 1
    one = GramSketch(3, 64, seed=1)
    one.add(0, G1)
    assert one.estimate().shape == (3, 3) and one.gram_info().K12 is None


def test_errors():
    with pytest.raises(ConfigError) as err:
        GramSketch(3, 0)
    assert err.value.key == "moo.sketch.k"
    with pytest.raises(ConfigError):
        GramSketch(3, 8, kind="srht")
    with pytest.raises(ValueError):
        GramSketch(3, 8).estimate()
    with pytest.raises(ValueError):
        GramSketch(3, 8).add(0, torch.zeros(2, 5))
