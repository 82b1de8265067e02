"""espeak-ng speech synthesis through ctypes (the library and voices ship with the pip package
``espeakng-loader``), at 22 050 Hz int16, resampled to 16 kHz float32.

espeak-ng keeps internal state from one utterance to the next inside a process (the same text synthesized
twice in a row differs slightly), while the same sequence of calls in a fresh process reproduces exactly.
Callers that need byte-identical output must therefore synthesize a fixed list, in a fixed order, in a fresh
process — see :mod:`soups.data.synthetic.corpus`, which shards synthesis that way.

Some voice variants (``f5``: "breath" noise) draw random numbers inside espeak-ng, seeded from the clock at
start-up; :meth:`Espeak.synthesize` takes a ``seed`` (``espeak_ng_SetRandSeed``) so those are reproducible too.

Mandarin is read from tone-numbered pinyin (``cmn-latn-pinyin`` voice); characters would be misread, so
:func:`spoken_text` converts Chinese text with pypinyin first.

>>> tts = Espeak()                                               # doctest: +SKIP
>>> audio = tts.synthesize("le chat dort", Voice("fr", "m3", rate=160, pitch=45))  # doctest: +SKIP
>>> audio.dtype, audio.ndim                                      # doctest: +SKIP
(dtype('float32'), 1)
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass

import numpy as np
from scipy.signal import resample_poly

ESPEAK_RATE = 22050
TARGET_RATE = 16000
# espeak-ng base voices for our language codes (regional accents are other base voices, e.g. "fr-be").
BASE_VOICE = {"en": "en-us", "fr": "fr", "de": "de", "es": "es", "ca": "ca", "zh": "cmn-latn-pinyin"}

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_CHARS_UTF8 = 1
_PARAM_RATE, _PARAM_PITCH = 1, 3
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker: language, espeak variant (``m1``…``m7``, ``f1``…``f5``), words/min, pitch 0–99,
    and optionally a regional base voice (``accent``, e.g. ``"fr-be"``, ``"es-419"``)."""

    lang: str
    variant: str
    rate: int = 170
    pitch: int = 50
    accent: str | None = None

    @property
    def espeak_name(self) -> str:
        return f"{self.accent or BASE_VOICE[self.lang]}+{self.variant}"


class Espeak:
    """A handle on libespeak-ng, initialised once per process (the library is a process-wide singleton)."""

    _lib = None

    def __init__(self) -> None:
        if Espeak._lib is None:
            import espeakng_loader

            lib = ctypes.CDLL(espeakng_loader.get_library_path())
            lib.espeak_Initialize.restype = ctypes.c_int
            rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0,
                                         espeakng_loader.get_data_path().encode(), 0)
            if rate != ESPEAK_RATE:
                raise RuntimeError(f"espeak-ng initialisation failed (returned {rate})")
            lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
            Espeak._lib = lib
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: ctypes must not free it
        Espeak._lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, num_samples, _events) -> int:
        if num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        return 0

    def synthesize_raw(self, text: str, voice: Voice, seed: int | None = None) -> np.ndarray:
        """int16 samples at 22 050 Hz (``seed``: espeak-ng's own random generator, e.g. breath noise)."""
        lib = Espeak._lib
        if seed is not None:
            lib.espeak_ng_SetRandSeed(int(seed) % 2**31)
        if lib.espeak_SetVoiceByName(voice.espeak_name.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice.espeak_name!r}")
        lib.espeak_SetParameter(_PARAM_RATE, int(voice.rate), 0)
        lib.espeak_SetParameter(_PARAM_PITCH, int(voice.pitch), 0)
        self._chunks = []
        data = spoken_text(voice.lang, text).encode("utf-8")
        lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _ESPEAK_CHARS_UTF8, None, None)
        lib.espeak_Synchronize()
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)

    def synthesize(self, text: str, voice: Voice, seed: int | None = None) -> np.ndarray:
        """float32 samples in [-1, 1] at 16 kHz."""
        raw = self.synthesize_raw(text, voice, seed).astype(np.float32) / 32768.0
        return resample_poly(raw, TARGET_RATE // 50, ESPEAK_RATE // 50).astype(np.float32)  # 320/441


_CJK_PUNCT = re.compile(r"[。，、！？；：,.!?;:]")


def spoken_text(lang: str, text: str) -> str:
    """The text espeak-ng should read: Chinese becomes tone-numbered pinyin (punctuation kept as pauses)."""
    if lang != "zh":
        return text
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
    words = [", " if _CJK_PUNCT.fullmatch(s) else s for s in syllables]
    return " ".join(w for w in words).replace(" , ", ", ").strip(" ,") + "."
