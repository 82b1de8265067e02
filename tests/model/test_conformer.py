"""ConformerEncoder: padding invariance (attention AND depthwise-conv masking), length arithmetic,
layer groups, config validation."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from soups.errors import ConfigError
from soups.model.conformer import ConformerEncoder, ConvModule, EncoderConfig
from soups.model.subsampling import Conv2dSubsampling, subsampled_lengths


def _alone_vs_batched(encoder, lengths, pad_value, t_max=None):
    """Max abs difference over valid frames between each sequence alone and in a padded batch."""
    torch.manual_seed(1)
    t_max = t_max or max(lengths)
    feats = torch.full((len(lengths), t_max, 80), float(pad_value))
    seqs = [torch.randn(n, 80) for n in lengths]
    for i, s in enumerate(seqs):
        feats[i, : len(s)] = s
    with torch.no_grad():
        batched = encoder(feats, torch.tensor(lengths))
        worst = 0.0
        for i, s in enumerate(seqs):
            alone = encoder(s[None], torch.tensor([len(s)]))
            n = int(alone.lengths[0])
            assert int(batched.lengths[i]) == n
            worst = max(worst, (batched.out[i, :n] - alone.out[0]).abs().max().item())
            for k, v in alone.intermediate.items():
                worst = max(worst, (batched.intermediate[k][i, :n] - v[0]).abs().max().item())
    return worst, batched


@pytest.mark.parametrize("pad_value", [0.0, 1e4, float("nan")])
def test_valid_frames_unchanged_by_padding(small_encoder, pad_value):
    worst, batched = _alone_vs_batched(small_encoder, [211, 150, 97, 31, 7], pad_value, t_max=260)
    assert worst < 1e-5
    assert torch.isfinite(batched.out).all()
    assert (batched.out[~batched.mask] == 0).all()  # padded frames are zeroed


@pytest.mark.parametrize("pad_value", [1e4, float("nan")])
def test_x2_frontend_valid_frames_unchanged_by_padding(small_cfg, pad_value):
    torch.manual_seed(0)
    enc = ConformerEncoder(EncoderConfig(**{**small_cfg.__dict__, "subsampling_factor": 2})).eval()
    worst, batched = _alone_vs_batched(enc, [211, 150, 97, 31, 7], pad_value, t_max=260)
    assert worst < 1e-5
    assert batched.lengths.tolist() == [subsampled_lengths(n, 2) for n in [211, 150, 97, 31, 7]]
    assert batched.out.shape[1] == subsampled_lengths(260, 2) == 127  # twice the x4 rate (64)


def test_padding_test_would_catch_missing_conv_masking(small_encoder, monkeypatch):
    """Mutation check: without zeroing padding before the depthwise conv the invariance breaks."""

    def unmasked_forward(self, x, mask):
        y = torch.nn.functional.glu(self.pointwise_in(self.norm_in(x)), dim=-1)
        y = self.depthwise(y.transpose(1, 2)).transpose(1, 2)
        return self.dropout(self.pointwise_out(self.act(self.norm_mid(y))))

    monkeypatch.setattr(ConvModule, "forward", unmasked_forward)
    worst, _ = _alone_vs_batched(small_encoder, [211, 97], 1e4, t_max=260)
    assert worst > 1e-3


def test_conv_module_masks_padding_before_depthwise_conv():
    torch.manual_seed(0)
    conv = ConvModule(16, 31, dropout=0.0).eval()
    x = torch.randn(1, 40, 16)
    mask = torch.arange(40)[None] < 25
    noisy = x.clone()
    noisy[:, 25:] = 1e4 * torch.randn(1, 15, 16)
    with torch.no_grad():
        a, b = conv(x, mask), conv(noisy, mask)
        alone = conv(x[:, :25], mask[:, :25])
    assert torch.allclose(a[:, :25], b[:, :25], atol=1e-5)
    assert torch.allclose(a[:, :25], alone, atol=1e-5)


def test_samples_independent_in_train_mode_without_dropout(small_cfg):
    """No BatchNorm-like coupling: a sample's output does not depend on the other samples."""
    cfg = EncoderConfig(**{**small_cfg.__dict__, "dropout": 0.0})
    enc = ConformerEncoder(cfg).train()
    feats, lengths = torch.randn(3, 120, 80), torch.tensor([120, 100, 80])
    full = enc(feats, lengths).out
    other = feats.clone()
    other[1:] = 5 * torch.randn(2, 120, 80)
    assert torch.allclose(full[0], enc(other, lengths).out[0], atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=600), st.sampled_from([2, 4]))
def test_subsampled_length_matches_conv_arithmetic(t, factor):
    stride = factor // 2
    expected = max(((t - 3) // 2 + 1 - 3) // stride + 1, 0) if t >= 3 else 0
    assert subsampled_lengths(t, factor) == expected
    assert int(subsampled_lengths(torch.tensor(t), factor)) == expected
    fe = Conv2dSubsampling(80, 2, 4, factor=factor)
    assert fe(torch.zeros(1, t, 80)).shape == (1, expected, 4)
    if expected:  # output frame j sees input frames f·j..f·j+6 only: the last one needs frame f(T'-1)+6 < t
        assert factor * (expected - 1) + 6 <= t - 1 < factor * expected + 6


@pytest.mark.parametrize("factor", [2, 4])
def test_output_frame_sees_only_its_receptive_field(factor):
    """Gradient of output frame j w.r.t. the input is non-zero exactly on frames f·j .. f·j+6."""
    torch.manual_seed(0)
    fe = Conv2dSubsampling(16, 4, 8, factor=factor)
    x = torch.randn(1, 60, 16, requires_grad=True)
    j = 5
    fe(x)[0, j].sum().backward()
    touched = (x.grad[0].abs().sum(dim=1) > 0).nonzero().flatten().tolist()
    assert touched == list(range(factor * j, factor * j + 7))


def test_unknown_subsampling_factor_is_a_config_error():
    with pytest.raises(ConfigError, match="model.encoder.subsampling_factor"):
        EncoderConfig(d_model=32, num_heads=4, subsampling_factor=3)


_TINY = None


def _tiny_encoder():
    global _TINY
    if _TINY is None:
        torch.manual_seed(0)
        _TINY = ConformerEncoder(EncoderConfig(d_model=16, num_blocks=1, num_heads=2, subsampling_channels=4)).eval()
    return _TINY


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=4), st.integers(0, 20))
def test_encoder_output_shapes_and_masks(lengths, extra):
    enc = _tiny_encoder()
    t = max(lengths) + extra
    with torch.no_grad():
        o = enc(torch.randn(len(lengths), t, 80), torch.tensor(lengths))
    assert o.out.shape == (len(lengths), subsampled_lengths(t), 16)
    assert o.lengths.tolist() == [subsampled_lengths(n) for n in lengths]
    assert o.mask.shape == o.out.shape[:2]
    assert o.mask.sum(dim=1).tolist() == o.lengths.tolist()
    assert torch.isfinite(o.out).all()


def test_layer_groups_partition_all_parameters(small_encoder):
    groups = small_encoder.layer_groups()
    assert list(groups) == ["frontend", "block.0", "block.1"]
    ids = [id(p) for ps in groups.values() for p in ps]
    assert len(ids) == len(set(ids))
    assert set(ids) == {id(p) for p in small_encoder.parameters()}
    assert all(groups.values())


def test_hidden_states_and_intermediate(small_encoder):
    o = small_encoder(torch.randn(2, 100, 80), torch.tensor([100, 50]), return_hidden=True)
    assert len(o.hidden_states) == 3
    assert torch.equal(o.hidden_states[-1], o.out)
    assert torch.equal(o.intermediate[0], o.hidden_states[1])
    assert small_encoder(torch.randn(1, 50, 80), torch.tensor([50])).hidden_states is None


def test_gradients_flow_and_are_finite(small_cfg):
    enc = ConformerEncoder(small_cfg).train()
    o = enc(torch.randn(2, 90, 80), torch.tensor([90, 40]))
    (o.out.pow(2).sum() + o.intermediate[0].sum()).backward()
    for name, p in enc.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize(
    "kwargs, key",
    [
        ({"d_model": 30, "num_heads": 4}, "model.encoder.num_heads"),
        ({"conv_kernel": 30}, "model.encoder.conv_kernel"),
        ({"num_blocks": 2, "intermediate_layers": (2,)}, "model.encoder.intermediate_layers"),
        ({"dropout": 1.5}, "model.encoder.dropout"),
        ({"input_dim": 5}, "model.encoder.input_dim"),
    ],
)
def test_config_errors_name_the_key(kwargs, key):
    with pytest.raises(ConfigError) as e:
        EncoderConfig(**kwargs)
    assert e.value.key == key


def test_unknown_factor_refused_by_lengths_and_frontend():
    with pytest.raises(ValueError, match="subsampling factor"):
        subsampled_lengths(100, 3)
    with pytest.raises(ValueError, match="subsampling factor"):
        Conv2dSubsampling(80, 4, 8, factor=8)
