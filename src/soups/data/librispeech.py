"""LibriSpeech reader: ``<part>/<speaker>/<chapter>/<id>.flac`` + ``<speaker>-<chapter>.trans.txt`` -> cuts.

Command line::

    soups prepare librispeech --root LibriSpeech --out data/librispeech \\
        --parts train-clean-100,dev-clean,dev-other,test-clean,test-other \\
        --unlabeled train-clean-360,train-other-500

Language ``en``; the **part names are the split names** (``cuts_en_train-clean-100.jsonl.gz``). Transcript
lines are ``ID TEXT`` (text kept as released, upper case; ASR targets are normalised later). Speaker and
gender come from ``SPEAKERS.TXT`` (``;`` comments, ``ID | SEX | SUBSET | MINUTES | NAME``; F/M -> "f"/"m"),
so every cut can feed the gender objective.

Parts given with ``--unlabeled`` (the paper's 860 h: train-clean-360 + train-other-500) are read for audio
only: their transcripts are not read, and each cut's supervision has **no text** and ``custom.unlabeled =
true`` — the SSL stream reads them as an ordinary split; ASR objectives would skip them (``empty_transcript``).

Counted (or raised with ``--strict``): a missing part (``missing_part``), a flac without transcript line
(``no_transcript``), a transcript line without flac (``no_audio``), an id seen twice (``duplicate_id``), a
non-UTF-8 or malformed line (``bad_row``), an empty text, unreadable audio, audio too short for its text.

>>> parse_speaker_line("14   | F | train-clean-360  | 25.03 | Kathy Caver")
('14', 'f')
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from soups.data.audio_dir import AudioItem, check_names
from soups.data.skips import SkipLog
from soups.errors import DataError

log = logging.getLogger(__name__)
LANG = "en"
SPEAKERS_FILE = "SPEAKERS.TXT"
_SEX = {"F": "f", "M": "m"}


def parse_speaker_line(line: str) -> tuple[str, str] | None:
    """``(speaker id, "f"|"m")`` of one SPEAKERS.TXT line, None when malformed (the NAME may hold ``|``)."""
    fields = [f.strip() for f in line.split("|", 4)]
    if len(fields) < 5 or not fields[0].isdigit() or fields[1].upper() not in _SEX:
        return None
    return fields[0], _SEX[fields[1].upper()]


def read_speakers(path: Path, skips: SkipLog) -> dict[str, str]:
    """``{speaker id: gender}`` from SPEAKERS.TXT; bad lines are ``bad_row`` skips."""
    out: dict[str, str] = {}
    for lineno, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            skips.skip("bad_row", path, lineno, "line is not valid UTF-8", lang=LANG)
            continue
        if not line or line.startswith(";"):
            continue
        parsed = parse_speaker_line(line)
        if parsed is None:
            skips.skip("bad_row", path, lineno, "expected 'ID | SEX | SUBSET | MINUTES | NAME' with SEX F or M",
                       lang=LANG)
            continue
        out[parsed[0]] = parsed[1]
    return out


@dataclass
class LibriSpeechParts:
    """What to read: labeled parts and unlabeled (audio-only) parts, under ``root``."""

    root: Path
    labeled: list[str] = field(default_factory=list)
    unlabeled: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        both = sorted(set(self.labeled) & set(self.unlabeled))
        if both:
            raise DataError(f"part(s) {both} given both in --parts and --unlabeled")
        for part in self.labeled + self.unlabeled:
            check_names(LANG, part)
        if not self.labeled and not self.unlabeled:
            raise DataError("no part to read (give --parts and/or --unlabeled)")


def _read_transcript(path: Path, part: str, skips: SkipLog) -> dict[str, tuple[str, int]]:
    """``{id: (text, line)}`` of one ``.trans.txt`` (duplicates within the file are skipped)."""
    out: dict[str, tuple[str, int]] = {}
    for lineno, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            skips.skip("bad_row", path, lineno, "line is not valid UTF-8", lang=LANG, split=part)
            continue
        if not line:
            continue
        uid, _, text = line.partition(" ")
        if uid in out:
            skips.skip("duplicate_id", path, lineno, f"utterance {uid!r} listed twice (first on line "
                       f"{out[uid][1]})", lang=LANG, split=part)
            continue
        out[uid] = (text.strip(), lineno)
    return out


def _chapter_items(chapter: Path, speaker: str, part: str, labeled: bool, gender: str | None,
                   skips: SkipLog) -> list[AudioItem]:
    flacs = {p.stem: p for p in sorted(chapter.glob("*.flac"))}
    if not labeled:
        return [AudioItem(uid, p, LANG, part, None, speaker, gender) for uid, p in flacs.items()]
    trans_path = chapter / f"{speaker}-{chapter.name}.trans.txt"
    trans = _read_transcript(trans_path, part, skips) if trans_path.is_file() else {}
    items = []
    for uid, (text, lineno) in trans.items():
        if uid not in flacs:
            skips.skip("no_audio", trans_path, lineno, f"no audio {chapter / (uid + '.flac')}", lang=LANG, split=part)
            continue
        items.append(AudioItem(uid, flacs[uid], LANG, part, text, speaker, gender, trans_path, lineno))
    for uid, path in flacs.items():
        if uid not in trans:
            why = f"no line for {uid!r} in {trans_path.name}" if trans_path.is_file() else f"{trans_path} not found"
            skips.skip("no_transcript", path, None, why, lang=LANG, split=part)
    return items


def part_items(parts: LibriSpeechParts, part: str, speakers: dict[str, str], skips: SkipLog,
               seen: dict[str, Path]) -> list[AudioItem]:
    """The items of one part, sorted by id; ``seen`` (id -> path) catches ids repeated across parts."""
    part_dir = parts.root / part
    if not part_dir.is_dir():
        skips.skip("missing_part", part_dir, None, f"LibriSpeech part {part!r} not found", lang=LANG, split=part)
        return []
    labeled = part in parts.labeled
    items = []
    for speaker_dir in sorted(p for p in part_dir.iterdir() if p.is_dir()):
        for chapter in sorted(p for p in speaker_dir.iterdir() if p.is_dir()):
            for item in _chapter_items(chapter, speaker_dir.name, part, labeled,
                                       speakers.get(speaker_dir.name), skips):
                if item.id in seen:
                    skips.skip("duplicate_id", item.source or item.path, item.line,
                               f"utterance {item.id!r} already read from {seen[item.id]}", lang=LANG, split=part)
                    continue
                seen[item.id] = item.path
                items.append(item)
    return sorted(items, key=lambda i: i.id)


def load_speakers(root: Path, skips: SkipLog, warnings: list[str]) -> dict[str, str]:
    """SPEAKERS.TXT of ``root``; without it cuts have no gender (an error in strict mode, else a warning)."""
    path = root / SPEAKERS_FILE
    if path.is_file():
        return read_speakers(path, skips)
    if skips.strict:
        raise DataError(f"{SPEAKERS_FILE} not found: cuts would have no speaker gender "
                        "[pass without --strict to continue without genders]", path)
    warnings.append(f"{path} not found: cuts have no gender (the gender objective will skip them)")
    log.warning(warnings[-1])
    return {}
