"""Synthesis worker: ``python -m soups.data.synthetic.worker`` reads one chunk of the corpus plan as JSON on
stdin, synthesizes it in order, writes each clip atomically and finally the chunk's marker file.

It always runs in a fresh process (see :mod:`soups.data.synthetic.corpus` for why).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from soups.data.languages import cv_code
from soups.data.synthetic.effects import Effects, apply_effects
from soups.data.synthetic.tts import TARGET_RATE, Espeak, Voice


def write_clip(path: Path, audio: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    fmt = path.suffix.lstrip(".").upper()
    with open(tmp, "wb") as f:
        sf.write(f, audio, TARGET_RATE, format=fmt, **({"compression_level": 0.3} if fmt == "MP3" else {}))
    tmp.replace(path)


def run(job: dict) -> None:
    tts = Espeak()
    cv_root = Path(job["cv_root"])
    for utt in job["utterances"]:
        voice = Voice(**utt["speaker"]["voice"])
        seed = int.from_bytes(hashlib.sha256(utt["key"].encode()).digest()[:8], "little")
        audio = tts.synthesize(utt["text"], voice, seed=seed)
        audio = apply_effects(audio, Effects(**utt["effects"]), TARGET_RATE, np.random.default_rng(seed))
        write_clip(cv_root / cv_code(utt["lang"]) / "clips" / utt["clip"], audio)
    marker = Path(job["marker"])
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(job["digest"] + "\n")


if __name__ == "__main__":
    run(json.load(sys.stdin))
