"""Features: fbank shapes, CMVN, the subsampling arithmetic, SpecAugment."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from soups.data.features import (CMVNAccumulator, GlobalCMVN, ctc_frames_needed, fbank_extractor,
                                 frames_after_subsampling, num_frames)
from soups.data.specaugment import SpecAugment


def test_fbank_shape_is_80_bins_at_10ms():
    audio = np.random.default_rng(0).standard_normal(16000 * 2).astype(np.float32) * 0.1
    feats = fbank_extractor().extract(audio, 16000)
    assert feats.shape == (num_frames(2.0), 80) and abs(feats.shape[0] - 200) <= 1
    assert np.isfinite(feats).all()


@given(st.integers(0, 5000), st.sampled_from([2, 4]))
def test_subsampling_formula_matches_two_valid_convolutions(frames, factor):
    x = torch.zeros(1, 1, frames, 80)
    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3, 2), torch.nn.Conv2d(1, 1, 3, (factor // 2, 2)))
    expected = conv(x).shape[2] if frames >= 7 else 0  # the convolution needs >= 7 frames
    assert frames_after_subsampling(frames, factor) == expected


def test_ctc_needs_a_blank_between_repeated_labels():
    assert ctc_frames_needed([5, 6, 7]) == 3
    assert ctc_frames_needed([5, 5, 5]) == 5
    assert ctc_frames_needed([]) == 0


def test_cmvn_from_streamed_stats_normalises_to_zero_mean_unit_variance():
    rng = np.random.default_rng(1)
    mats = [rng.normal(3.0, 2.0, size=(rng.integers(50, 150), 80)) for _ in range(10)]
    acc = CMVNAccumulator()
    for m in mats:
        acc.add(m)
    cmvn = acc.finalize()
    allf = np.concatenate(mats)
    np.testing.assert_allclose(cmvn.mean.numpy(), allf.mean(0), rtol=1e-5)
    np.testing.assert_allclose(cmvn.std.numpy(), allf.std(0), rtol=1e-4)
    normed = cmvn(torch.tensor(allf, dtype=torch.float32))
    assert abs(float(normed.mean())) < 1e-4 and abs(float(normed.std()) - 1) < 1e-3


def test_cmvn_save_load(tmp_path):
    cmvn = GlobalCMVN(torch.arange(80.0), torch.ones(80) * 2)
    cmvn.save(tmp_path / "cmvn.json")
    back = GlobalCMVN.load(tmp_path / "cmvn.json")
    assert torch.equal(back.mean, cmvn.mean) and torch.equal(back.std, cmvn.std)


def test_specaugment_is_reproducible_masks_something_and_leaves_padding_alone():
    aug = SpecAugment(freq_masks=2, freq_width=20, time_masks=4, time_width_ratio=0.1, fill=0.0)
    x = torch.ones(3, 120, 80)
    lens = torch.tensor([120, 80, 40])
    a = aug(x, lens, torch.Generator().manual_seed(7))
    b = aug(x, lens, torch.Generator().manual_seed(7))
    c = aug(x, lens, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert (a == 0).any() and (a == 1).any()
    assert torch.equal(a[1, 80:], x[1, 80:]) and torch.equal(a[2, 40:], x[2, 40:])
    assert torch.equal(x, torch.ones(3, 120, 80))  # input untouched


@pytest.mark.parametrize("ratio", [0.0, 0.05])
def test_specaugment_time_mask_bound(ratio):
    aug = SpecAugment(freq_masks=0, time_masks=1, time_width_ratio=ratio)
    y = aug(torch.ones(1, 100, 10), torch.tensor([100]), torch.Generator().manual_seed(0))
    masked_frames = int((y[0].sum(-1) == 0).sum())
    assert masked_frames <= int(ratio * 100)


def test_unknown_subsampling_factor_is_refused():
    import pytest

    with pytest.raises(ValueError, match="2 or 4"):
        frames_after_subsampling(100, 3)


def test_a_cut_is_longer_than_a_window_only_past_its_last_sample():
    from soups.data.features import longer_than_window, num_samples

    assert num_samples(30.0) == 480000 and num_samples(1 / 16000) == 1
    assert not longer_than_window(30.0, 480000) and longer_than_window(30.0 + 1 / 16000, 480000)
    assert not longer_than_window(3600.0, None)     # no window: nothing is too long
