"""Acoustic features: 80-dim log-mel filterbanks (lhotse ``Fbank``, no torchaudio), global CMVN from the train
split, and SpecAugment for training.

Shapes: features are ``(T, 80)`` per utterance at a 10 ms shift; batches ``(B, T, 80)`` with lengths ``(B,)``.
The encoder's conv2d x4 subsampling (two 3x3 convs, stride 2, no time padding) turns ``T`` frames into
``((T - 1) // 2 - 1) // 2`` frames (x2: ``(T - 1) // 2 - 2``); :func:`frames_after_subsampling` is that
formula, used to reject utterances too short for their CTC target.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from soups.atomic import atomic_write_text
from soups.data.text import min_target_units
from soups.errors import DataError

SAMPLE_RATE = 16000
NUM_MEL_BINS = 80
FRAME_SHIFT = 0.01


def num_frames(duration: float) -> int:
    """Fbank frames for a duration (lhotse's rounding, 10 ms shift)."""
    from lhotse.utils import compute_num_frames

    return compute_num_frames(duration, FRAME_SHIFT, SAMPLE_RATE)


def num_samples(duration: float) -> int:
    """Waveform samples of a cut of ``duration`` seconds at 16 kHz (what a waveform backbone receives)."""
    return round(duration * SAMPLE_RATE)


def longer_than_window(duration: float, max_samples: int | None) -> bool:
    """Whether a cut exceeds a backbone's fixed input window (Whisper's 30 s; ``None``: no window). Such a cut
    is never cut short: training and evaluation leave it out and count it (``too_long_for_backbone``)."""
    return max_samples is not None and num_samples(duration) > max_samples


def frames_after_subsampling(frames: int, factor: int = 4) -> int:
    """Frames after the encoder's conv2d subsampling (kernel 3, no time padding; time strides 2 and 2 for
    ``factor`` 4, 2 and 1 for ``factor`` 2)."""
    if factor not in (2, 4):
        raise ValueError(f"subsampling factor must be 2 or 4, got {factor}")
    first = (frames - 1) // 2
    return max(0, (first - 1) // 2 if factor == 4 else first - 2)


def ctc_frames_needed(tokens: list[int]) -> int:
    """CTC needs one frame per label plus a blank between each pair of equal consecutive labels."""
    return len(tokens) + sum(1 for a, b in zip(tokens, tokens[1:]) if a == b)


def min_ctc_frames_ok(duration: float, text: str, lang: str) -> bool:
    """Conservative prepare-time check (exact tokens are checked once a tokenizer exists)."""
    return frames_after_subsampling(num_frames(duration)) >= min_target_units(text, lang)


def fbank_extractor():
    from lhotse import Fbank, FbankConfig

    return Fbank(FbankConfig(num_mel_bins=NUM_MEL_BINS, frame_shift=FRAME_SHIFT, dither=0.0))


@dataclass
class GlobalCMVN:
    """Global mean/variance normalisation: ``(x - mean) / std`` per mel bin.

    >>> cmvn = GlobalCMVN.from_stats(np.zeros(2), np.ones(2) * 4, 2)   # sum, sum of squares, count
    >>> cmvn.mean.tolist(), cmvn.std.tolist()
    ([0.0, 0.0], [1.4142135381698608, 1.4142135381698608])
    """

    mean: torch.Tensor  # (F,)
    std: torch.Tensor   # (F,)

    @classmethod
    def from_stats(cls, total: np.ndarray, total_sq: np.ndarray, count: int, floor: float = 1e-5) -> "GlobalCMVN":
        if not (np.isfinite(total).all() and np.isfinite(total_sq).all()):
            raise DataError("the CMVN statistics are not finite (a NaN or inf in the training features)")
        mean = total / max(count, 1)
        var = np.maximum(total_sq / max(count, 1) - mean**2, floor)
        return cls(torch.tensor(mean, dtype=torch.float32), torch.tensor(np.sqrt(var), dtype=torch.float32))

    def __call__(self, feats: torch.Tensor) -> torch.Tensor:
        """``(…, T, F)`` -> normalised, same shape."""
        return (feats - self.mean.to(feats)) / self.std.to(feats)

    def save(self, path: str | Path) -> None:
        atomic_write_text(path, json.dumps({"mean": self.mean.tolist(), "std": self.std.tolist()}))

    @classmethod
    def load(cls, path: str | Path) -> "GlobalCMVN":
        """Read ``cmvn.json``; a damaged file (truncated, wrong shape, non-finite or non-positive std) is a
        :class:`DataError` naming it."""
        try:
            d = json.loads(Path(path).read_text())
            mean, std = torch.tensor(d["mean"], dtype=torch.float32), torch.tensor(d["std"], dtype=torch.float32)
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise DataError(f"unreadable CMVN statistics ({type(err).__name__}: {err}); delete the file to "
                            "recompute it", path) from None
        if mean.dim() != 1 or mean.shape != std.shape:
            raise DataError(f"CMVN mean and std must be two vectors of one length, got {tuple(mean.shape)} "
                            f"and {tuple(std.shape)}", path)
        if not (torch.isfinite(mean).all() and torch.isfinite(std).all() and (std > 0).all()):
            raise DataError("CMVN statistics must be finite with a positive std; delete the file to recompute it",
                            path)
        return cls(mean, std)


@dataclass
class WaveformInput:
    """The raw waveform as the model input, ``(S, 1)`` per utterance at 16 kHz (resampled when the recording has
    another rate), for a backbone that computes its own features (``soups.model.hf``); in the place of
    :class:`GlobalCMVN` (``cmvn.json`` then says ``{"kind": "waveform"}``). Normalisation is the backbone's."""

    dim: int = 1

    def __call__(self, wave: torch.Tensor) -> torch.Tensor:
        return wave

    def load(self, cut) -> torch.Tensor:
        """``(S, 1)`` float32 samples of ``cut``; a :class:`DataError` naming the file when they cannot be read
        or are not finite."""
        where = cut.recording.sources[0].source if cut.recording is not None else None
        try:
            if cut.sampling_rate != SAMPLE_RATE:
                cut = cut.resample(SAMPLE_RATE)
            audio = cut.load_audio()
        except Exception as err:  # decoder errors belong to the file
            raise DataError(f"cut {cut.id}: cannot read its audio ({type(err).__name__}: {err})", where) from None
        if not np.isfinite(audio).all():
            raise DataError(f"cut {cut.id}: non-finite audio samples (NaN or inf)", where)
        return torch.from_numpy(np.ascontiguousarray(audio[0], dtype=np.float32))[:, None]

    def save(self, path: str | Path) -> None:
        atomic_write_text(path, json.dumps({"kind": "waveform", "sample_rate": SAMPLE_RATE}))


def load_input_transform(path: str | Path) -> GlobalCMVN | WaveformInput:
    """What an experiment's ``cmvn.json`` describes: fbank CMVN statistics, or the raw-waveform input."""
    try:
        if json.loads(Path(path).read_text()).get("kind") == "waveform":
            return WaveformInput()
    except (OSError, ValueError, AttributeError):
        pass  # GlobalCMVN.load names the damage
    return GlobalCMVN.load(path)


class CMVNAccumulator:
    """Streams feature matrices ``(T, F)`` into sums for :class:`GlobalCMVN` (float64, no storage)."""

    def __init__(self, dim: int = NUM_MEL_BINS):
        self.total, self.total_sq, self.count = np.zeros(dim), np.zeros(dim), 0

    def add(self, feats: np.ndarray) -> None:
        f = np.asarray(feats, dtype=np.float64)
        self.total += f.sum(0)
        self.total_sq += (f**2).sum(0)
        self.count += f.shape[0]

    def finalize(self) -> GlobalCMVN:
        return GlobalCMVN.from_stats(self.total, self.total_sq, self.count)
