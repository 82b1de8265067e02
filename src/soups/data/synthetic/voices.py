"""Synthetic speakers and how they are split between train, dev and test.

A *speaker* is an espeak-ng voice variant (``m1``…, ``f1``…) with a regional base voice and a fixed speaking
rate and pitch. Speakers never cross splits, and whole voice variants are held out so that test measures
generalisation to unseen voices:

=========  ==========================================================================================
split      voice variants (× 4 speakers each, with their own rate and pitch)
=========  ==========================================================================================
train      m1, m2, m3, f1, f2, f3 (standard accent)
dev        m4, f4 (unseen in train)
test       m5, f5 (unseen in train and dev); m7 with a regional accent where espeak-ng has one
           (en-gb-x-rp, fr-be, es-419, ca-va); de and zh use m7 with the standard accent
=========  ==========================================================================================

Rates are drawn in 140–200 words/min, pitches in 30–70, from a generator seeded by (seed, language, split).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from soups.data.synthetic.tts import Voice

SPLIT_VARIANTS = {
    "train": ("m1", "m2", "m3", "f1", "f2", "f3"),
    "dev": ("m4", "f4"),
    "test": ("m5", "f5", "m7"),
}
REGIONAL_ACCENT = {"en": "en-gb-x-rp", "fr": "fr-be", "es": "es-419", "ca": "ca-va"}
SPEAKERS_PER_VARIANT = 4


@dataclass(frozen=True)
class Speaker:
    """A synthetic speaker with a Common-Voice-style ``client_id`` (hex digest)."""

    client_id: str
    voice: Voice
    gender: str  # Common Voice 4 labels: "male" / "female"


def speakers_for(lang: str, split: str, seed: int) -> list[Speaker]:
    """The speakers of one language and split, in a fixed order (deterministic for ``seed``)."""
    rng = random.Random(f"speakers-{seed}-{lang}-{split}")
    out = []
    for variant in SPLIT_VARIANTS[split]:
        accent = REGIONAL_ACCENT.get(lang) if variant == "m7" else None
        for _ in range(SPEAKERS_PER_VARIANT):
            voice = Voice(lang, variant, rate=rng.randint(140, 200), pitch=rng.randint(30, 70), accent=accent)
            key = f"{seed}|{lang}|{split}|{voice.espeak_name}|{voice.rate}|{voice.pitch}".encode()
            client_id = hashlib.sha256(key).hexdigest()
            out.append(Speaker(client_id, voice, "male" if variant.startswith("m") else "female"))
    return out
