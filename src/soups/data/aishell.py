"""AISHELL-1 reader: per-speaker ``.tar.gz`` archives (or extracted wavs) + one transcript file -> cuts.

Command line::

    soups prepare aishell --root /corpora/aishell --out data/aishell

``--root`` holds ``data_aishell/`` (the root may also be ``data_aishell`` itself)::

    data_aishell/wav/S0002.tar.gz …                       # as released; extracted in place, safely, once
    data_aishell/wav/{train,dev,test}/<speaker>/<id>.wav   # after extraction (or extracted by hand)
    data_aishell/transcript/aishell_transcript_v0.8.txt    # "ID 字 字 …" (spaces are removed)

Archives are extracted by :mod:`soups.data.safe_tar` (no member can leave ``wav/``; a second run extracts
nothing). Language ``zh``, splits ``train``/``dev``/``test`` from the directory, speaker from the speaker
directory (no gender: AISHELL-1's speaker metadata is not read). Counted, or raised with ``--strict``: a wav
without transcript (``no_transcript``: the release has some; Kaldi and lhotse drop them too, so real
AISHELL-1 needs the default non-strict mode), a transcript without wav
(``no_audio``), duplicate ids, non-UTF-8 or empty lines, wavs outside train/dev/test (``unknown_split``),
corrupt or unsafe archives, unreadable audio, audio too short for its text.

>>> parse_transcript_line("BAC009S0002W0122 而 对 楼市 成交 抑制 作用")
('BAC009S0002W0122', '而对楼市成交抑制作用')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from soups.data.audio_dir import AudioItem
from soups.data.safe_tar import MARKER_DIR, STAGING_PREFIX, ExtractReport, extract_all
from soups.data.skips import SkipLog
from soups.errors import DataError

LANG = "zh"
SPLITS = ("train", "dev", "test")
TRANSCRIPT = Path("transcript") / "aishell_transcript_v0.8.txt"


def parse_transcript_line(line: str) -> tuple[str, str]:
    """``(id, text without spaces)``; text is ``""`` when the line holds only an id."""
    uid, _, rest = line.strip().partition(" ")
    return uid, "".join(rest.split())


def corpus_dir(root: str | Path) -> Path:
    """``root/data_aishell``, or ``root`` itself when it is that directory."""
    root = Path(root)
    if not root.is_dir():
        raise DataError("--root: directory not found", root)
    for candidate in (root / "data_aishell", root):
        if (candidate / "wav").is_dir() or (candidate / "transcript").is_dir():
            return candidate
    raise DataError("no data_aishell/wav or data_aishell/transcript here (give the folder holding data_aishell)",
                    root)


def read_transcript(path: Path, skips: SkipLog) -> dict[str, tuple[str, int]]:
    """``{id: (text, line)}``; non-UTF-8 lines are ``bad_row``, repeated ids ``duplicate_id``."""
    if not path.is_file():
        raise DataError("transcript file not found", path)
    out: dict[str, tuple[str, int]] = {}
    for lineno, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            skips.skip("bad_row", path, lineno, "line is not valid UTF-8", lang=LANG)
            continue
        if not line.strip():
            continue
        uid, text = parse_transcript_line(line)
        if uid in out:
            skips.skip("duplicate_id", path, lineno, f"utterance {uid!r} listed twice (first on line "
                       f"{out[uid][1]})", lang=LANG)
            continue
        out[uid] = (text, lineno)
    return out


@dataclass
class WavIndex:
    """Wavs found under ``wav/``: ``{id: (split, path, speaker)}``."""

    wavs: dict[str, tuple[str, Path, str | None]] = field(default_factory=dict)


def find_wavs(wav_dir: Path, skips: SkipLog) -> WavIndex:
    """Every ``<split>/<speaker>/<id>.wav``; wavs under other directories are ``unknown_split``."""
    index = WavIndex()
    if not wav_dir.is_dir():
        return index
    for top in sorted(p for p in wav_dir.iterdir() if p.is_dir()):
        if top.name.startswith((".", STAGING_PREFIX)) or top.name == MARKER_DIR:
            continue
        for path in sorted(top.rglob("*.wav")):
            if top.name not in SPLITS:
                skips.skip("unknown_split", path, None, f"directory {top.name!r} is not one of {list(SPLITS)}",
                           lang=LANG)
                continue
            rel = path.relative_to(top)
            speaker = rel.parts[0] if len(rel.parts) > 1 else None
            if path.stem in index.wavs:
                skips.skip("duplicate_id", path, None, f"utterance {path.stem!r} already found at "
                           f"{index.wavs[path.stem][1]}", lang=LANG, split=top.name)
                continue
            index.wavs[path.stem] = (top.name, path, speaker)
    return index


@dataclass
class AishellItems:
    """The join of wavs and transcript: items per split and the counts of each one-sided entry."""

    by_split: dict[str, list[AudioItem]]
    wavs_without_transcript: int
    transcripts_without_wav: int
    archives: list[ExtractReport]


def aishell_items(root: str | Path, skips: SkipLog, extract: bool = True) -> AishellItems:
    """Extract archives (safely, once), then join wavs and transcript lines by utterance id."""
    base = corpus_dir(root)
    wav_dir = base / "wav"
    archives = extract_all(wav_dir, skips, lang=LANG) if extract and wav_dir.is_dir() else []
    trans_path = base / TRANSCRIPT
    trans = read_transcript(trans_path, skips)
    index = find_wavs(wav_dir, skips)
    by_split: dict[str, list[AudioItem]] = {s: [] for s in SPLITS}
    no_transcript = 0
    for uid in sorted(index.wavs):
        split, path, speaker = index.wavs[uid]
        if uid not in trans:
            no_transcript += 1
            skips.skip("no_transcript", path, None, f"no line for {uid!r} in {trans_path.name}", lang=LANG,
                       split=split)
            continue
        text, lineno = trans[uid]
        by_split[split].append(AudioItem(uid, path, LANG, split, text, speaker, None, trans_path, lineno))
    no_audio = 0
    for uid, (_, lineno) in sorted(trans.items(), key=lambda kv: kv[1][1]):
        if uid not in index.wavs:
            no_audio += 1
            skips.skip("no_audio", trans_path, lineno, f"no wav for {uid!r} under {wav_dir}", lang=LANG)
    if not index.wavs:
        raise DataError(f"no wav files under {wav_dir}/{{train,dev,test}}/ ({skips.summary()})", wav_dir)
    return AishellItems({s: v for s, v in by_split.items() if v}, no_transcript, no_audio, archives)
