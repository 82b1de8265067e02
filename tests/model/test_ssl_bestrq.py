"""BEST-RQ: targets from unmasked input, frozen buffers, code usage, masking statistics, learning."""

from __future__ import annotations

import math

import torch

from soups.model.bestrq import BestRQConfig, BestRQObjective, code_entropy_bits
from soups.model.conformer import ConformerEncoder, EncoderConfig
from soups.model.subsampling import subsampled_lengths


def _rq(**kw) -> BestRQObjective:
    return BestRQObjective(32, BestRQConfig(**kw))


def test_targets_come_from_unmasked_features():
    rq = _rq()
    feats, lengths = torch.randn(4, 300, 80), torch.tensor([300, 250, 120, 40])
    batch = rq.prepare(feats, lengths, torch.Generator().manual_seed(0))
    assert torch.equal(batch.targets, rq.targets(feats))
    assert batch.frame_mask.any()
    # masking did change the input, and would have changed the targets of masked frames
    assert not torch.equal(batch.feats, feats)
    t_masked = rq.targets(batch.feats)[..., 0]
    assert (t_masked[batch.frame_mask] != batch.targets[..., 0][batch.frame_mask]).float().mean() > 0.5
    assert batch.targets.shape == (4, subsampled_lengths(300), 1)


def test_frozen_parts_are_buffers_saved_and_untouched():
    rq = _rq(num_codes=64)
    names = {n for n, _ in rq.named_parameters()}
    assert names == {"head.weight", "head.bias"}
    assert not rq.projection.requires_grad and not rq.codebook.requires_grad
    sd = rq.state_dict()
    assert {"projection", "codebook"} <= set(sd)
    assert torch.allclose(rq.codebook.norm(dim=-1), torch.ones(1, 64))
    before = rq.projection.clone(), rq.codebook.clone()
    enc = ConformerEncoder(EncoderConfig(d_model=32, num_blocks=1, num_heads=2, subsampling_channels=8))
    opt = torch.optim.AdamW([*enc.parameters(), *rq.parameters()], lr=1e-2, weight_decay=0.1)
    loss, _ = rq(enc, torch.randn(2, 200, 80), torch.tensor([200, 150]), torch.Generator().manual_seed(0))
    loss.backward()
    opt.step()
    assert torch.equal(before[0], rq.projection) and torch.equal(before[1], rq.codebook)
    # same seed -> same quantizer; a different seed -> another one; loading restores it
    assert torch.equal(_rq(num_codes=64).codebook, rq.codebook)
    other = _rq(num_codes=64, seed=1)
    assert not torch.equal(other.codebook, rq.codebook)
    other.load_state_dict(sd)
    assert torch.equal(other.codebook, rq.codebook)


def test_code_usage_entropy_is_high_on_random_input():
    rq = BestRQObjective(32)  # 8192 codes
    feats, lengths = torch.randn(8, 400, 80), torch.full((8,), 400)
    codes = rq.targets(feats)
    n = codes.shape[0] * codes.shape[1]
    ent = code_entropy_bits(codes.reshape(-1, 1), 8192)
    assert ent > 0.8 * math.log2(n)  # n = 792 frames, at most log2(792) = 9.6 bits
    batch = rq.prepare(feats, lengths, torch.Generator().manual_seed(0))
    _, m = rq.loss(torch.randn(8, codes.shape[1], 32), torch.ones(8, codes.shape[1], dtype=torch.bool), batch)
    assert m["code_entropy_bits"] > 7.0


def test_mask_statistics_and_noise():
    rq = _rq(num_codes=16)
    b, t = 16, 1000
    feats = torch.full((b, t, 80), 5.0)
    lengths = torch.tensor([1000] * 14 + [300, 20])
    out, frame_mask = rq.mask(feats, lengths, torch.Generator().manual_seed(0))
    masked = (out != 5.0).all(dim=-1)
    valid = torch.arange(t)[None] < lengths[:, None]
    assert not (masked & ~valid).any()  # padding is never masked
    frac = masked[:14].float().mean().item()
    assert 0.2 < frac < 0.45  # ~ 1 - 0.99**40 = 0.33
    assert masked[15].any()  # at least one span even for a 20-frame utterance
    noise = out[masked]
    assert abs(noise.std().item() - 0.1) < 0.01 and abs(noise.mean().item()) < 0.01
    # spans: runs of masked frames are >= 40 frames unless clipped by the utterance end
    row = masked[0].tolist() + [False]
    runs, n = [], 0
    for m in row:
        if m:
            n += 1
        elif n:
            runs.append(n)
            n = 0
    unclipped = runs[:-1] if row[-2] else runs  # a run touching the end may be clipped
    assert unclipped and min(unclipped) >= 40
    assert frame_mask.shape == (b, subsampled_lengths(t))
    enc_valid = torch.arange(frame_mask.shape[1])[None] < subsampled_lengths(lengths)[:, None]
    assert not (frame_mask & ~enc_valid).any()
    # the same generator seed reproduces the mask
    out2, fm2 = rq.mask(feats, lengths, torch.Generator().manual_seed(0))
    assert torch.equal(out, out2) and torch.equal(frame_mask, fm2)


def test_loss_decreases_when_training_a_tiny_encoder():
    torch.manual_seed(0)
    enc = ConformerEncoder(EncoderConfig(d_model=32, num_blocks=1, num_heads=4, subsampling_channels=8, dropout=0.0))
    rq = _rq(num_codes=256)
    opt = torch.optim.Adam([*enc.parameters(), *rq.parameters()], lr=3e-3)
    feats, lengths = torch.randn(8, 300, 80), torch.tensor([300, 280, 260, 300, 200, 300, 250, 220])
    batch = rq.prepare(feats, lengths, torch.Generator().manual_seed(0))
    losses = []
    for _ in range(15):
        o = enc(batch.feats, batch.lengths)
        loss, m = rq.loss(o.out, o.mask, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.5
    assert 0.0 <= m["accuracy"] <= 1.0 and m["num_targets"] > 0
    assert 0.1 < m["masked_fraction"] < 0.6


def test_no_masked_frame_gives_zero_loss_with_graph():
    rq = _rq(num_codes=16, mask_prob=0.0, min_spans=0)
    enc_out = torch.randn(2, 10, 32, requires_grad=True)
    batch = rq.prepare(torch.randn(2, 43, 80), torch.tensor([43, 43]))
    assert not batch.frame_mask.any()
    loss, m = rq.loss(enc_out, torch.ones(2, 10, dtype=torch.bool), batch)
    assert loss.item() == 0.0 and m["num_targets"] == 0
    loss.backward()


def test_x2_frontend_targets_stack_two_frames_aligned_with_the_encoder():
    """With a ×2 encoder, BEST-RQ stacks 2 frames per target (offset 2 centres them in frame t's receptive
    field 2t..2t+6): targets, frame mask and encoder output have the same length, and a target changes when
    (only) its own stacked frames change."""
    import pytest

    from soups.errors import ConfigError

    rq = _rq(stack_frames=2)
    assert rq.cfg.stack_offset == 2 and _rq().cfg.stack_offset == 1
    enc = ConformerEncoder(EncoderConfig(d_model=32, num_blocks=1, num_heads=4, subsampling_channels=8,
                                         subsampling_factor=2))
    feats, lengths = torch.randn(2, 300, 80), torch.tensor([300, 120])
    batch = rq.prepare(feats, lengths, torch.Generator().manual_seed(0))
    out = enc(batch.feats, batch.lengths)
    assert batch.targets.shape[1] == batch.frame_mask.shape[1] == out.out.shape[1] == subsampled_lengths(300, 2)
    assert torch.equal(batch.frame_mask & out.mask, batch.frame_mask)  # no target on padded frames
    other = feats.clone()
    other[:, 2 * 10 + 2: 2 * 10 + 4] += 3.0  # frames stacked by encoder frame 10
    changed = (rq.targets(other) != rq.targets(feats))[..., 0]
    assert changed[:, 10].any() and not changed[:, :10].any() and not changed[:, 11:].any()
    with pytest.raises(ConfigError, match="model.ssl.stack_offset"):
        _rq(stack_frames=2, stack_offset=6)
    with pytest.raises(ConfigError, match="model.ssl.stack_frames"):
        _rq(stack_frames=3)
