"""Acoustic variety for synthetic utterances: silence padding, gain and additive noise at a given SNR.

All randomness comes from a ``numpy.random.Generator`` the caller seeds per utterance, so one utterance's
audio never depends on which other utterances were produced before it.

>>> rng = np.random.default_rng(0)
>>> x = np.sin(np.arange(16000) / 10).astype(np.float32)
>>> y = add_noise(x, snr_db=10.0, kind="white", rng=rng)
>>> round(snr_of(x, y - x), 1)
10.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOISE_KINDS = ("white", "pink", "brown")


@dataclass(frozen=True)
class Effects:
    """What to do to one utterance (decided by the corpus plan, applied in the synthesis worker)."""

    lead_s: float = 0.1
    trail_s: float = 0.1
    gain_db: float = 0.0
    noise_kind: str | None = None  # None = clean
    snr_db: float = 30.0


def colored_noise(n: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance noise with a 1/f^0 (white), 1/f (pink) or 1/f^2 (brown) power spectrum."""
    if kind not in NOISE_KINDS:
        raise ValueError(f"unknown noise kind {kind!r}; choose from {NOISE_KINDS}")
    white = rng.standard_normal(n)
    if kind == "white" or n < 2:
        noise = white
    else:
        spectrum = np.fft.rfft(white)
        freqs = np.arange(len(spectrum), dtype=np.float64)
        freqs[0] = 1.0
        exponent = 0.5 if kind == "pink" else 1.0  # amplitude ~ f^-exponent
        noise = np.fft.irfft(spectrum / freqs**exponent, n)
    noise = noise - noise.mean()
    return (noise / (noise.std() + 1e-12)).astype(np.float32)


def snr_of(signal: np.ndarray, noise: np.ndarray) -> float:
    """Signal-to-noise ratio in dB."""
    return float(10 * np.log10(np.sum(signal.astype(np.float64) ** 2) / np.sum(noise.astype(np.float64) ** 2)))


def add_noise(x: np.ndarray, snr_db: float, kind: str, rng: np.random.Generator) -> np.ndarray:
    """``x`` plus noise scaled to the requested SNR (measured over the whole signal)."""
    noise = colored_noise(len(x), kind, rng).astype(np.float64)
    power = np.mean(x.astype(np.float64) ** 2)
    scale = np.sqrt(power / (10 ** (snr_db / 10)) / max(np.mean(noise**2), 1e-20))
    return (x + scale * noise).astype(np.float32)


def apply_effects(x: np.ndarray, fx: Effects, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Pad with silence, apply gain, add noise (over the padded signal), and keep within [-1, 1]."""
    lead, trail = np.zeros(int(fx.lead_s * rate), np.float32), np.zeros(int(fx.trail_s * rate), np.float32)
    y = np.concatenate([lead, x.astype(np.float32), trail]) * np.float32(10 ** (fx.gain_db / 20))
    if fx.noise_kind is not None:
        y = add_noise(y, fx.snr_db, fx.noise_kind, rng)
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    if peak > 0.99:
        y = y * np.float32(0.99 / peak)
    return y.astype(np.float32)
