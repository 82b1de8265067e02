"""Synthesis primitives: espeak-ng output, pinyin for Mandarin, noise at a requested SNR."""

import numpy as np
import pytest

from soups.data.synthetic.effects import Effects, add_noise, apply_effects, colored_noise, snr_of
from soups.data.synthetic.tts import TARGET_RATE, Espeak, Voice, spoken_text


@pytest.mark.parametrize("snr", [5.0, 15.0, 25.0])
@pytest.mark.parametrize("kind", ["white", "pink", "brown"])
def test_noise_is_added_at_the_requested_snr(snr, kind):
    rng = np.random.default_rng(0)
    x = np.sin(np.arange(16000) / 7.0).astype(np.float32)
    y = add_noise(x, snr, kind, rng)
    assert abs(snr_of(x, y - x) - snr) < 0.05


def test_colored_noise_spectra_slope_down():
    rng = np.random.default_rng(1)
    power = {k: np.abs(np.fft.rfft(colored_noise(2**14, k, rng))) ** 2 for k in ("white", "pink", "brown")}
    low_high = {k: p[10:100].mean() / p[4000:8000].mean() for k, p in power.items()}
    assert low_high["white"] < low_high["pink"] < low_high["brown"]


def test_effects_pad_with_silence_and_stay_in_range():
    x = np.full(1600, 0.5, np.float32)
    y = apply_effects(x, Effects(lead_s=0.1, trail_s=0.2, gain_db=12.0), 16000, np.random.default_rng(0))
    assert len(y) == 1600 + 1600 + 3200 and np.abs(y).max() <= 0.99 + 1e-6
    assert np.all(y[:1600] == 0) and np.all(y[-3200:] == 0)


def test_espeak_speaks_every_language_at_16khz():
    tts = Espeak()
    for lang, text in [("en", "The cat sleeps."), ("de", "Der Hund läuft."), ("zh", "今天下雨。")]:
        audio = tts.synthesize(text, Voice(lang, "m1", 160, 50))
        assert audio.dtype == np.float32 and 0.4 * TARGET_RATE < len(audio) < 4 * TARGET_RATE
        assert np.abs(audio).max() > 0.05


def test_mandarin_is_read_from_tone_numbered_pinyin():
    assert spoken_text("zh", "今天狗在公园里。") == "jin1 tian1 gou3 zai4 gong1 yuan2 li3."
    assert spoken_text("fr", "Le chat.") == "Le chat."
