"""The built-in corpus: synthesized speech written in the real Common Voice + CoVoST 2 layout.

Command line (see ``soups prepare synthetic --help``)::

    soups prepare synthetic --out data/synthetic-tiny --size tiny --seed 0
    soups prepare synthetic --out data/synthetic-demo --size demo --seed 0 --langs en,fr,de,es,ca

writes::

    OUT/corpus/cv/<lang>/clips/common_voice_<lang>_<n>.flac    # 16 kHz mono (--audio-format mp3: .mp3)
    OUT/corpus/cv/<lang>/validated.tsv                         # Common Voice 4 columns
    OUT/corpus/covost/covost_v2.<src>_en.tsv                   # X -> En: path, sentence, translation, split
    OUT/corpus/covost/covost_v2.en_de.tsv                      # En: its split (and German translations)

and then reads that layout back with the CoVoST 2 reader (one reader for the real and the built-in corpus).

Determinism: the plan (sentences, speakers, effects) is a pure function of (size, seed, languages).
Synthesis runs in fixed chunks of the plan, each in a fresh ``python -m soups.data.synthetic.worker``
process, in plan order (espeak-ng carries state between utterances inside a process), so output is
byte-identical for a seed whatever the number of workers.
A chunk whose marker records the same plan is reused: a second run only writes what is missing.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from soups.data.languages import ALL_LANGS, cv_code
from soups.data.synthetic.effects import NOISE_KINDS, Effects
from soups.data.synthetic.voices import Speaker, speakers_for
from soups.data.tsv import write_tsv
from soups.errors import SoupsError

SPLITS = ("train", "dev", "test")
# Utterances per synthesis process. Part of the determinism contract: espeak-ng state carries over inside a
# process, so the chunk boundaries (not the number of workers) shape the audio; changing CHUNK changes bytes.
# Chunks never span two languages, so a language's audio does not depend on which others are built with it
# (or in which order --langs names them).
CHUNK = 500


@dataclass(frozen=True)
class Conditions:
    """Acoustic conditions: the share of utterances with additive noise (white/pink/brown) and its SNR range."""

    noisy_share: float = 0.3
    snr_db: tuple[float, float] = (5.0, 25.0)
    # < 1: the most common share of each word category; None: the size's own (``CorpusSize.lexicon_fraction``)
    lexicon_fraction: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.noisy_share <= 1.0:
            raise ValueError(f"--noisy-share must be in [0, 1], got {self.noisy_share}")
        if not self.snr_db[0] <= self.snr_db[1]:
            raise ValueError(f"--snr must be LOW,HIGH with LOW <= HIGH, got {self.snr_db}")
        if self.lexicon_fraction is not None and not 0.0 < self.lexicon_fraction <= 1.0:
            raise ValueError(f"--lexicon-fraction must be in (0, 1], got {self.lexicon_fraction}")


@dataclass(frozen=True)
class CorpusSize:
    """Utterances per language and split, and the share of the lexicon the sentences draw on.

    ``demo`` is the *dense* corpus: the most common 5 % of each word category (and numbers two to ten), so
    each language has ~100–180 word types (inflections counted) in 2,000 training sentences and a median
    training word is heard ~50 times — learnable in the demo's 15 CPU minutes. ``small`` keeps the full
    lexicon (~1,500–1,750 types per language, most heard once or twice): the hard benchmark. Test and dev
    sentences never occur in training and are spoken by voices never heard in training in every size.
    """

    train: int
    dev: int
    test: int
    lexicon_fraction: float = 1.0
    langs: tuple[str, ...] = ALL_LANGS  # languages the size is defined for


DENSE_FRACTION = 0.05
SIZES = {
    "tiny": CorpusSize(train=40, dev=10, test=10),
    "demo": CorpusSize(train=2000, dev=100, test=200, lexicon_fraction=DENSE_FRACTION),
    "small": CorpusSize(train=2000, dev=100, test=200),
    "medium": CorpusSize(train=8000, dev=300, test=500),
}


def corpus_size(size: str, langs: tuple[str, ...] = ()) -> CorpusSize:
    """The named size; :class:`SoupsError` naming ``--size`` for an unknown size or a language it does not cover."""
    if size not in SIZES:
        raise SoupsError(f"--size: unknown size {size!r} (valid: {', '.join(SIZES)})")
    missing = [lang for lang in langs if lang not in SIZES[size].langs]
    if missing:
        raise SoupsError(f"--size {size}: no lexicon for {', '.join(missing)} in this size "
                         f"(it covers {', '.join(SIZES[size].langs)})")
    return SIZES[size]
CV_COLUMNS = ["client_id", "path", "sentence", "up_votes", "down_votes", "age", "gender", "accent"]
COVOST_COLUMNS = ["path", "sentence", "translation", "split"]


@dataclass(frozen=True)
class PlannedUtterance:
    """Everything needed to produce one clip and its TSV rows."""

    lang: str
    split: str
    clip: str          # file name inside <lang>/clips/
    text: str          # the transcript (Common Voice ``sentence``)
    translation: str   # English for X -> En; German for English (the en_de TSV)
    speaker: Speaker
    effects: Effects
    key: str           # seeds the utterance's own noise generator


def _sentences(lang: str, n: int, seed: int, lexicon_fraction: float = 1.0) -> list[tuple[str, str]]:
    """``n`` distinct (text, translation) pairs: X -> English, and English -> German for ``en``."""
    from soups.data.synthetic.frames import lexicon_fraction as restricted
    from soups.data.synthetic.grammar import sample_pairs_to

    with restricted(lexicon_fraction):
        return [(p.text, p.translation) for p in sample_pairs_to(lang, "de" if lang == "en" else "en", n, seed)]


def _effects(rng: random.Random, conditions: Conditions) -> Effects:
    noisy = rng.random() < conditions.noisy_share
    return Effects(lead_s=round(rng.uniform(0.05, 0.3), 3), trail_s=round(rng.uniform(0.05, 0.3), 3),
                   gain_db=round(rng.uniform(-6.0, 3.0), 2),
                   noise_kind=rng.choice(NOISE_KINDS) if noisy else None,
                   snr_db=round(rng.uniform(*conditions.snr_db), 2))


def plan_language(lang: str, size: CorpusSize, seed: int, audio_format: str = "flac",
                  conditions: Conditions = Conditions()) -> list[PlannedUtterance]:
    """The deterministic plan for one language: test sentences first, then dev, then train (all distinct,
    so test and dev sentences never occur in training)."""
    counts = {"test": size.test, "dev": size.dev, "train": size.train}
    fraction = size.lexicon_fraction if conditions.lexicon_fraction is None else conditions.lexicon_fraction
    pairs = _sentences(lang, sum(counts.values()), seed, fraction)
    rng = random.Random(f"plan-{seed}-{lang}")
    numbers = rng.sample(range(10_000_000, 40_000_000), len(pairs))  # Common-Voice-like clip numbers
    plan, start = [], 0
    for split in ("test", "dev", "train"):
        speakers = speakers_for(lang, split, seed)
        for i in range(counts[split]):
            idx = start + i
            text, translation = pairs[idx]
            clip = f"common_voice_{cv_code(lang)}_{numbers[idx]}.{audio_format}"
            plan.append(PlannedUtterance(lang, split, clip, text, translation, rng.choice(speakers),
                                         _effects(rng, conditions), f"{seed}-{lang}-{idx}"))
        start += counts[split]
    return plan


def _chunks(plan: list[PlannedUtterance]) -> list[list[PlannedUtterance]]:
    """``CHUNK``-utterance pieces of each language's plan (in plan order)."""
    by_lang: dict[str, list[PlannedUtterance]] = {}
    for utt in plan:
        by_lang.setdefault(utt.lang, []).append(utt)
    return [utts[i:i + CHUNK] for utts in by_lang.values() for i in range(0, len(utts), CHUNK)]


def _chunk_digest(chunk: list[PlannedUtterance]) -> str:
    blob = json.dumps([asdict(u) for u in chunk], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def synthesize_chunk(chunk: list[PlannedUtterance], cv_root: Path) -> int:
    """Synthesize one chunk in a fresh interpreter (fixed espeak-ng state at the chunk start)."""
    payload = json.dumps({"cv_root": str(cv_root), "utterances": [asdict(u) for u in chunk],
                          "digest": _chunk_digest(chunk), "marker": str(_marker_path(cv_root, chunk))})
    proc = subprocess.run([sys.executable, "-m", "soups.data.synthetic.worker"], input=payload.encode(),
                          capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"synthesis worker failed on chunk starting at {chunk[0].clip}:\n"
                           + proc.stderr.decode(errors="replace")[-2000:])
    return len(chunk)


def _marker_path(cv_root: Path, chunk: list[PlannedUtterance]) -> Path:
    first = chunk[0]
    return cv_root.parent / ".synthesis" / f"{cv_code(first.lang)}-{first.clip.rsplit('.', 1)[0]}.done"


def _is_done(cv_root: Path, chunk: list[PlannedUtterance]) -> bool:
    marker = _marker_path(cv_root, chunk)
    if not marker.is_file() or marker.read_text().strip() != _chunk_digest(chunk):
        return False
    return all((cv_root / cv_code(u.lang) / "clips" / u.clip).is_file() for u in chunk)


def synthesize(plan: list[PlannedUtterance], cv_root: Path, workers: int = 2, progress=None) -> int:
    """Synthesize every chunk not already done; returns the number of clips written now."""
    from tqdm import tqdm

    todo = [c for c in _chunks(plan) if not _is_done(cv_root, c)]
    written = 0
    bar = tqdm(total=sum(len(c) for c in todo), desc="synthesizing", unit="clip", disable=None, leave=False,
               dynamic_ncols=True)  # shown on an interactive terminal only
    with bar, ThreadPoolExecutor(max(1, workers)) as pool:
        for n in pool.map(lambda c: synthesize_chunk(c, cv_root), todo):
            written += n
            bar.update(n)
            if progress is not None:
                progress(n)
    return written


def write_tsvs(plan: list[PlannedUtterance], root: Path) -> None:
    """validated.tsv per language (Common Voice 4 columns) and the CoVoST 2 TSVs (pandas-style escaping)."""
    by_lang: dict[str, list[PlannedUtterance]] = {}
    for utt in plan:
        by_lang.setdefault(utt.lang, []).append(utt)
    for lang, utts in by_lang.items():
        code = cv_code(lang)
        write_tsv(root / "cv" / code / "validated.tsv", CV_COLUMNS, (
            {"client_id": u.speaker.client_id, "path": u.clip, "sentence": u.text, "up_votes": "2",
             "down_votes": "0", "age": "", "gender": u.speaker.gender, "accent": ""} for u in utts))
        pair = f"{code}_de" if lang == "en" else f"{code}_en"
        write_tsv(root / "covost" / f"covost_v2.{pair}.tsv", COVOST_COLUMNS, (
            {"path": u.clip, "sentence": u.text, "translation": u.translation, "split": u.split} for u in utts),
            escape_quotes=True)


def build_corpus(root: Path, size: str = "tiny", seed: int = 0, langs: tuple[str, ...] = ALL_LANGS,
                 workers: int = 2, audio_format: str = "flac", progress=None,
                 conditions: Conditions = Conditions()) -> dict:
    """Plan, synthesize (what is missing) and write the TSVs under ``root``; returns a small report."""
    spec = corpus_size(size, tuple(langs))
    plan = [u for lang in langs for u in plan_language(lang, spec, seed, audio_format, conditions)]
    cv_root = root / "cv"
    written = synthesize(plan, cv_root, workers, progress)
    write_tsvs(plan, root)
    return {"utterances": len(plan), "synthesized_now": written, "reused": len(plan) - written}
