"""CPC: learns on a predictable synthetic signal; negatives never come from padding; edge cases."""

from __future__ import annotations

import math

import pytest
import torch

from soups.errors import ConfigError
from soups.model.conformer import ConformerEncoder, EncoderConfig
from soups.model.cpc import CPCConfig, CPCObjective, sample_negatives
from soups.model.ssl_factory import build_ssl


def slow_signal(b: int, t: int, g: torch.Generator) -> torch.Tensor:
    """80-dim features from 8 slow sinusoids (random frequency/phase per utterance) + noise."""
    w = torch.randn(8, 80, generator=g)
    freqs = 0.01 + 0.05 * torch.rand(b, 1, 8, generator=g)
    phase = 2 * math.pi * torch.rand(b, 1, 8, generator=g)
    h = torch.sin(freqs * torch.arange(t).float()[None, :, None] + phase)
    return h @ w / math.sqrt(8) + 0.1 * torch.randn(b, t, 80, generator=g)


def test_context_window_is_200ms_of_encoder_frames():
    assert CPCConfig().context_frames == 5  # 200 ms / 40 ms
    assert CPCConfig(frame_ms=10.0).context_frames == 20


def test_cpc_learns_above_chance():
    torch.manual_seed(0)
    enc = ConformerEncoder(EncoderConfig(d_model=32, num_blocks=1, num_heads=4, subsampling_channels=8, dropout=0.0))
    cpc = CPCObjective(32, CPCConfig())  # K = 12 steps, N = 12 negatives
    opt = torch.optim.Adam([*enc.parameters(), *cpc.parameters()], lr=3e-3)
    lengths = torch.tensor([200, 180, 160, 200, 120, 200, 190, 150])
    held_out = slow_signal(8, 200, torch.Generator().manual_seed(123))

    def evaluate():
        enc.eval()
        with torch.no_grad():
            out = cpc(enc, held_out, lengths, torch.Generator().manual_seed(5))
        enc.train()
        return out

    loss0, m0 = evaluate()
    g = torch.Generator().manual_seed(0)
    for _ in range(40):
        loss, _ = cpc(enc, slow_signal(8, 200, g), lengths, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    loss1, m1 = evaluate()
    chance = 1 / 13
    assert loss1 < loss0 - 0.5
    assert m1["accuracy"] > 2.5 * chance > m0["accuracy"] * 1.5
    assert m1["num_predictions"] == m0["num_predictions"] > 0


def test_negatives_are_valid_frames_of_the_same_utterance():
    g = torch.Generator().manual_seed(0)
    lengths = torch.tensor([30, 7, 2, 1])
    pos = torch.arange(29)[None].expand(4, 29) + 1
    neg = sample_negatives(pos, lengths, 50, g)
    valid_pos = pos < lengths[:, None]
    assert (neg >= 0).all()
    assert (neg < lengths.clamp(min=1)[:, None, None]).all()  # never a padded frame
    assert not (valid_pos[..., None] & (neg == pos[..., None])).any()  # never the positive itself
    assert len(set(neg[0].flatten().tolist())) == 30  # covers the whole utterance


def test_padding_never_enters_the_loss():
    torch.manual_seed(0)
    cpc = CPCObjective(16, CPCConfig(prediction_steps=3, num_negatives=4))
    z = torch.randn(3, 20, 16, requires_grad=True)
    mask = torch.arange(20)[None] < torch.tensor([[20], [11], [5]])
    dirty = z.detach().clone()
    dirty[~mask] = float("nan")
    dirty.requires_grad_(True)
    l_clean, m_clean = cpc.loss(z, mask, None, torch.Generator().manual_seed(1))
    l_dirty, _ = cpc.loss(dirty, mask, None, torch.Generator().manual_seed(1))
    assert torch.isfinite(l_dirty) and torch.allclose(l_clean, l_dirty)
    l_dirty.backward()
    assert torch.isfinite(dirty.grad).all() and (dirty.grad[~mask] == 0).all()
    # count: for each step k, positions t with t + k < L
    expected = sum(max(n - k, 0) for n in (20, 11, 5) for k in (1, 2, 3))
    assert m_clean["num_predictions"] == expected


def test_too_short_gives_zero_loss_with_graph():
    cpc = CPCObjective(8, CPCConfig(prediction_steps=2, num_negatives=2))
    z = torch.randn(2, 4, 8, requires_grad=True)
    loss, m = cpc.loss(z, torch.tensor([[True, False, False, False]] * 2))
    assert loss.item() == 0.0 and m["num_predictions"] == 0
    loss.backward()


def test_build_ssl_errors():
    with pytest.raises(ConfigError) as e:
        build_ssl("wav2vec", d_model=8)
    assert e.value.choices == ["bestrq", "cpc"]
    with pytest.raises(ConfigError):
        build_ssl("cpc", d_model=8, negatives=3)
    assert isinstance(build_ssl("cpc", d_model=8, num_negatives=3), CPCObjective)
