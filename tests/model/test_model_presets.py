"""Presets: parameter counts (meta device, analytic cross-check), tiny model runs, errors."""

from __future__ import annotations

import pytest
import torch

from soups.errors import ConfigError
from soups.model.presets import PRESETS, build_model, count_parameters, describe_preset, get_preset


def analytic_encoder_params(d: int, blocks: int, kernel: int = 31, channels: int | None = None, feat: int = 80) -> int:
    """Closed form: frontend + blocks * (23 d² + (30 + k) d)."""
    c = channels or d
    f = ((feat - 3) // 2 + 1 - 3) // 2 + 1
    frontend = (9 * c + c) + (9 * c * c + c) + (c * f * d + d)
    ffn = 2 * (2 * d + d * 4 * d + 4 * d + 4 * d * d + d)
    attn = 2 * d + 3 * d * d + 3 * d + d * d + d
    conv = 2 * d + 2 * d * d + 2 * d + kernel * d + d + 2 * d + d * d + d
    return frontend + blocks * (ffn + attn + conv + 2 * d)


@pytest.mark.parametrize("name, target", [("paper-58m", 58e6), ("paper-100m", 100e6)])
def test_paper_presets_within_10_percent(name, target):
    d = describe_preset(name)
    assert d["translation_head"] == "ctc"
    assert abs(d["total"] - target) <= 0.1 * target
    p = get_preset(name)
    assert d["encoder"] == analytic_encoder_params(p.encoder.d_model, p.encoder.num_blocks)
    v, n_heads = 1000, 9  # 5 ASR + 4 translation CTC heads
    assert d["heads"] == n_heads * (p.encoder.d_model * v + v)
    assert d["total"] == d["encoder"] + d["heads"]


def test_paper_shapes():
    assert (get_preset("paper-58m").encoder.num_blocks, get_preset("paper-58m").encoder.d_model) == (8, 512)
    e = get_preset("paper-100m").encoder
    assert (e.num_blocks, e.d_model, e.num_heads, e.d_model // e.num_heads) == (10, 612, 12, 51)


def test_tiny_preset_size_and_forward():
    d = describe_preset("tiny")
    assert 2e6 <= d["total"] <= 5e6
    assert d["frontend"] < 0.1 * d["encoder"]  # narrow frontend
    torch.manual_seed(0)
    model = build_model("tiny")
    assert count_parameters(model) == d["total"]
    assert set(model["heads"]) == {"asr_en", "asr_fr", "asr_de", "asr_es", "asr_ca",
                                   "st_fr_en", "st_de_en", "st_es_en", "st_ca_en"}
    o = model["encoder"](torch.randn(2, 300, 80), torch.tensor([300, 200]))
    assert o.out.shape == (2, 74, 144)


def test_count_parameters_counts_tied_weights_once():
    from soups.model.decoder import TransformerDecoderHead

    tied = TransformerDecoderHead(8, 20, num_layers=1, num_heads=2, tie_embeddings=True)
    untied = TransformerDecoderHead(8, 20, num_layers=1, num_heads=2, tie_embeddings=False)
    assert count_parameters(untied) - count_parameters(tied) == 20 * 8


def test_unknown_preset_lists_choices():
    with pytest.raises(ConfigError) as e:
        describe_preset("huge")
    assert e.value.key == "model.preset" and set(e.value.choices) == set(PRESETS)
    with pytest.raises(ConfigError):
        build_model("tiny", translation_head="rnnt")
