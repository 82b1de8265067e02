"""Any folder of audio -> an unlabeled stream, and the audio checks shared by the LibriSpeech and AISHELL readers.

Command line::

    soups prepare audio-dir --root my_recordings --lang en --out data/my-ssl [--split train]

Every ``.wav``, ``.flac`` and ``.mp3`` file under ``--root`` (any depth, case-insensitive suffix, directory
symlinks not followed) becomes one cut whose id is its path relative to the root, without suffix and with
``/`` replaced by ``-`` (``spk1/a.wav`` -> ``spk1-a``). Cuts carry one supervision with the language and **no
text** (unlabeled: the SSL objective uses them; ASR objectives would skip them as ``empty_transcript``).
Audio is resampled to 16 kHz on load; multi-channel files use channel 0.

>>> item = AudioItem("spk1-a", Path("spk1/a.wav"), "en", "train", text=None)
>>> item.unlabeled
True
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from lhotse import Recording, SupervisionSegment
from lhotse.cut import MonoCut

from soups.data.features import SAMPLE_RATE, frames_after_subsampling, min_ctc_frames_ok, num_frames
from soups.data.skips import SkipLog
from soups.errors import DataError

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3")
_LANG = re.compile(r"^[A-Za-z]+(-[A-Za-z]+)*$")
_SPLIT = re.compile(r"^[A-Za-z0-9.-]+$")


@dataclass(frozen=True)
class AudioItem:
    """One utterance before its audio is checked. ``text`` None = unlabeled; ``source``/``line`` locate it."""

    id: str
    path: Path
    lang: str
    split: str
    text: str | None
    speaker: str | None = None
    gender: str | None = None
    source: Path | None = None
    line: int | None = None

    @property
    def unlabeled(self) -> bool:
        return self.text is None


def check_names(lang: str, split: str) -> None:
    """Language and split must fit the manifest file name ``cuts_<lang>_<split>.jsonl.gz``."""
    if not _LANG.match(lang):
        raise DataError(f"--lang: {lang!r} is not a language code (letters and '-')")
    if not _SPLIT.match(split):
        raise DataError(f"split name {split!r} may only hold letters, digits, '.' and '-'")


def probe_item(item: AudioItem) -> tuple[AudioItem, Recording | None, str | None, str]:
    """Check one item's audio (and text); returns (item, recording or None, skip reason or None, message)."""
    if item.text is not None and not item.text.strip():
        return item, None, "empty_transcript", f"utterance {item.id!r} has an empty transcript"
    if not item.path.is_file():
        return item, None, "missing_clip", f"audio not found: {item.path}"
    try:
        rec = Recording.from_file(item.path.absolute(), recording_id=item.id)  # manifests work from any cwd
        if rec.num_samples <= 0:
            raise ValueError("no samples")
    except Exception as err:  # any decoder failure is the file's fault, reported with its location
        return item, None, "unreadable_audio", f"cannot read audio {item.path}: {type(err).__name__}: {err}"
    if rec.sampling_rate != SAMPLE_RATE:
        rec = rec.resample(SAMPLE_RATE)
    if item.text is None:
        if frames_after_subsampling(num_frames(rec.duration)) < 1:
            return item, None, "too_short", f"{item.path} ({rec.duration:.3f} s) gives no encoder frame"
    elif not min_ctc_frames_ok(rec.duration, item.text, item.lang):
        return item, None, "too_short_for_ctc", (f"{item.path} ({rec.duration:.2f} s) is too short for its "
                                                 f"transcript after x4 subsampling")
    return item, rec, None, ""


def item_cut(item: AudioItem, rec: Recording) -> MonoCut:
    """The cut: one supervision over the whole recording (channel 0), text absent when unlabeled."""
    custom = {"split": item.split, **({"unlabeled": True} if item.unlabeled else {})}
    sup = SupervisionSegment(id=rec.id, recording_id=rec.id, start=0.0, duration=rec.duration, channel=0,
                             text=item.text, language=item.lang, speaker=item.speaker, gender=item.gender,
                             custom=custom)
    return MonoCut(id=rec.id, start=0.0, duration=rec.duration, channel=0, recording=rec, supervisions=[sup])


def probe_cuts(items: Iterable[AudioItem], skips: SkipLog, threads: int = 4, chunk: int = 256) -> Iterator[MonoCut]:
    """Cuts of the items whose audio passes :func:`probe_item`, in input order; the rest go to ``skips``.
    Works in chunks, so that memory stays bounded for hundreds of thousands of files."""
    items = list(items)
    with ThreadPoolExecutor(max(1, threads)) as pool:
        for start in range(0, len(items), chunk):
            for item, rec, reason, message in pool.map(probe_item, items[start:start + chunk]):
                if reason is not None:
                    where = item.source or item.path
                    skips.skip(reason, where, item.line, message, lang=item.lang, split=item.split)
                else:
                    yield item_cut(item, rec)


def find_audio(root: Path) -> list[Path]:
    """Audio files under ``root`` (sorted, directory symlinks not followed, hidden directories ignored)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath) / f for f in filenames if f.lower().endswith(AUDIO_SUFFIXES))
    return sorted(found)


def audio_dir_items(root: str | Path, lang: str, split: str, skips: SkipLog) -> list[AudioItem]:
    """Unlabeled items for every audio file under ``root``; two files with one id are ``duplicate_id``."""
    root = Path(root)
    if not root.is_dir():
        raise DataError("--root: directory not found", root)
    check_names(lang, split)
    items, seen = [], {}
    for path in find_audio(root):
        rel = path.relative_to(root)
        uid = "-".join(rel.with_suffix("").parts)
        if uid in seen:
            skips.skip("duplicate_id", path, None, f"id {uid!r} already used by {seen[uid]}", lang=lang, split=split)
            continue
        seen[uid] = path
        items.append(AudioItem(uid, path, lang, split, None, speaker=None))
    if not items:
        raise DataError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) found", root)
    return items
