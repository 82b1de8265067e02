"""Transcribe or translate audio files with a trained experiment (any sample rate, mono or stereo).

    soups transcribe runs/demo --lang fr --task asr clip1.wav clip2.mp3
    soups transcribe runs/demo --lang fr --task st clip1.wav          # French speech -> English text
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from scipy.signal import resample_poly

from soups.data.batch import Batch
from soups.data.features import SAMPLE_RATE, WaveformInput, fbank_extractor
from soups.errors import DataError, SoupsError
from soups.eval.evaluate import decode_objective
from soups.eval.experiment import decode_options, load_experiment


def load_audio_16k(path: str | Path) -> np.ndarray:
    """Mono float32 at 16 kHz from any file soundfile can read (channels averaged)."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise DataError("audio file not found", path)
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # decoder errors belong to the file
        raise DataError(f"cannot read audio: {err}", path) from None
    audio = audio.mean(axis=1)
    if not np.isfinite(audio).all():
        raise DataError("unusable audio: non-finite samples (NaN or inf)", path)
    if rate != SAMPLE_RATE:
        g = np.gcd(rate, SAMPLE_RATE)
        audio = resample_poly(audio, SAMPLE_RATE // g, rate // g).astype(np.float32)
    if len(audio) < SAMPLE_RATE // 10:
        raise DataError(f"audio too short ({len(audio) / SAMPLE_RATE:.3f} s)", path)
    return audio


def find_objective(model, lang: str, task: str):
    for obj in model.objectives.values():
        if obj.lang == lang and obj.task == task:
            return obj
    have = sorted(f"{o.task}:{o.lang}" for o in model.objectives.values() if o.lang)
    raise SoupsError(f"the model has no {task} objective for language '{lang}' (it has: {', '.join(have)})")


@torch.no_grad()
def transcribe(exp: str | Path, lang: str, task: str, files: list[str], beam: int | None = None) -> list[str]:
    cfg, model, tokenizers, cmvn = load_experiment(exp, "best")
    obj = find_objective(model, lang, task)
    opts = decode_options(cfg, Path(exp), tokenizers, beam, beam)
    extractor, out = fbank_extractor(), []
    for f in files:
        audio = load_audio_16k(f)
        limit = getattr(model.encoder, "max_samples", None)  # Whisper's window
        if limit is not None and len(audio) > limit:
            raise DataError(f"{len(audio) / SAMPLE_RATE:.1f} s is longer than the backbone's "
                            f"{limit / SAMPLE_RATE:.0f}-s input window; cut the file into shorter clips", f)
        if isinstance(cmvn, WaveformInput):  # a transformers backbone reads the waveform (B, S, 1)
            feats = torch.from_numpy(audio)[:, None]
        else:
            feats = cmvn(torch.from_numpy(extractor.extract(audio, SAMPLE_RATE)))
        feats = feats.to(next(model.parameters()).dtype)
        batch = Batch(obj.stream, feats[None], torch.tensor([feats.shape[0]]), [str(f)], [lang], [""], [""])
        view = model.encode({obj.stream: batch})[obj.stream].tap()
        out.append(decode_objective(obj, view, opts, tokenizers)[0])
    return out
