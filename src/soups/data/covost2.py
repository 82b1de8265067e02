"""CoVoST 2 reader: Common Voice clips + CoVoST 2 translation TSVs -> lhotse cuts.

Command line::

    soups prepare covost2 --cv-root CV --covost-dir TSVDIR --langs fr,de,es,ca,en --out data/covost2

``CV`` holds ``<lang>/validated.tsv`` and ``<lang>/clips/`` (Common Voice codes: ``zh-CN``); ``TSVDIR`` holds
``covost_v2.<src>_<tgt>.tsv``. The join is exactly the official ``get_covost_splits.py``: path, sentence and
client_id from validated.tsv; path, translation and split from the CoVoST TSV; an inner join on path;
train = ``train`` ∪ ``train_covost``, dev = ``dev``, test = ``test``. TSVs are read with QUOTE_NONE and
backslash escapes. English (ASR only) takes its split from an ``en_xx`` TSV (``en_de`` preferred).
Everything left out is counted by reason — rows on one side of the join only included.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lhotse import Recording, SupervisionSegment
from lhotse.cut import MonoCut

from soups.data.features import SAMPLE_RATE, min_ctc_frames_ok
from soups.data.languages import cv_code
from soups.data.skips import SkipLog
from soups.data.tsv import read_tsv
from soups.errors import DataError

SPLIT_MAP = {"train": "train", "train_covost": "train", "dev": "dev", "test": "test"}
_GENDER = {"male": "m", "male_masculine": "m", "female": "f", "female_feminine": "f"}


@dataclass(frozen=True)
class JoinedRow:
    """One utterance after the join, with where it came from (for located messages)."""

    lang: str
    split: str
    clip: str
    sentence: str
    translation: str
    translation_lang: str
    client_id: str
    gender: str | None
    source: str   # "<validated.tsv>:<line>"
    path: Path
    line: int


def covost_tsv_for(covost_dir: Path, lang: str) -> tuple[Path, str]:
    """The CoVoST TSV a language takes its split from, and the translation's language."""
    code = cv_code(lang)
    if lang != "en":
        return covost_dir / f"covost_v2.{code}_en.tsv", "en"
    candidates = sorted(covost_dir.glob("covost_v2.en_*.tsv"), key=lambda p: (p.name != "covost_v2.en_de.tsv", p.name))
    candidates = [p for p in candidates if p.name.count(".") == 2]  # not the per-split outputs en_de.train.tsv
    if not candidates:
        return covost_dir / "covost_v2.en_de.tsv", "de"
    return candidates[0], candidates[0].name.split("_")[-1].split(".")[0]


def join_language(cv_root: Path, covost_dir: Path, lang: str, skips: SkipLog) -> list[JoinedRow]:
    """Inner join of validated.tsv and the CoVoST TSV for one language, in CoVoST TSV order."""
    validated = cv_root / cv_code(lang) / "validated.tsv"
    covost_tsv, tgt = covost_tsv_for(covost_dir, lang)
    for needed in (validated, covost_tsv):
        if not needed.is_file():
            skips.skip("language_without_data", needed, None, f"no data for language '{lang}': file not found",
                       lang=lang)
            return []
    cv = read_tsv(validated, skips, required=("path", "sentence", "client_id"), lang=lang)
    by_path: dict[str, tuple[int, dict]] = {}
    for line, row in cv.rows:
        if row["path"] in by_path:
            skips.skip("duplicate_id", validated, line, f"clip {row['path']!r} listed twice", lang=lang)
            continue
        by_path[row["path"]] = (line, row)
    co = read_tsv(covost_tsv, skips, required=("path", "translation", "split"), lang=lang)
    joined, seen = [], set()
    for line, row in co.rows:
        if row["path"] in seen:
            skips.skip("duplicate_id", covost_tsv, line, f"clip {row['path']!r} listed twice", lang=lang)
            continue
        seen.add(row["path"])  # each utterance is counted once, under its first problem
        split = SPLIT_MAP.get(row["split"])
        if split is None:
            skips.skip("unknown_split", covost_tsv, line, f"split {row['split']!r} is not one of "
                       f"{sorted(SPLIT_MAP)}", lang=lang)
            continue
        if row["path"] not in by_path:
            skips.skip("no_audio_row", covost_tsv, line, f"clip {row['path']!r} is not in {validated}",
                       lang=lang, split=split)
            continue
        cv_line, cv_row = by_path[row["path"]]
        joined.append(JoinedRow(lang, split, row["path"], cv_row["sentence"], row["translation"], tgt,
                                cv_row["client_id"], _GENDER.get(cv_row.get("gender", "")),
                                f"{validated}:{cv_line}", validated, cv_line))
    for path, (line, _) in by_path.items():
        if path not in seen:
            skips.skip("no_translation", validated, line, f"clip {path!r} has no row in {covost_tsv.name}",
                       lang=lang)
    return joined


def _resolve_clip(clips_dir: Path, clip: str) -> Path | None:
    """The clip's path, or None when it escapes the clips directory (absolute path, '..')."""
    if Path(clip).is_absolute() or not clip:
        return None
    path = (clips_dir / clip).resolve()
    return path if path.is_relative_to(clips_dir.resolve()) else None


def _probe(row: JoinedRow, clips_dir: Path) -> tuple[JoinedRow, Recording | None, str | None, str]:
    """Check one row; returns (row, recording or None, skip reason or None, message)."""
    if not row.sentence.strip():
        return row, None, "empty_transcript", f"clip {row.clip!r} has an empty sentence"
    path = _resolve_clip(clips_dir, row.clip)
    if path is None:
        return row, None, "path_escape", f"path {row.clip!r} leaves the clips directory {clips_dir}"
    if not path.is_file():
        return row, None, "missing_clip", f"clip not found: {path}"
    try:
        rec = Recording.from_file(path, recording_id=Path(row.clip).stem)
        if rec.num_samples <= 0:
            raise ValueError("no samples")
    except Exception as err:  # any decoder failure is the file's fault, reported with its location
        return row, None, "unreadable_audio", f"cannot read audio {path}: {type(err).__name__}: {err}"
    if rec.sampling_rate != SAMPLE_RATE:
        rec = rec.resample(SAMPLE_RATE)
    if not min_ctc_frames_ok(rec.duration, row.sentence, row.lang):
        return row, None, "too_short_for_ctc", (f"clip {row.clip!r} ({rec.duration:.2f} s) is too short for its "
                                                f"transcript after x4 subsampling")
    return row, rec, None, ""


def make_cut(row: JoinedRow, rec: Recording) -> MonoCut:
    sup = SupervisionSegment(
        id=rec.id, recording_id=rec.id, start=0.0, duration=rec.duration, channel=0, text=row.sentence,
        language=row.lang, speaker=row.client_id, gender=row.gender,
        custom={"translation": row.translation, "translation_lang": row.translation_lang, "split": row.split})
    return MonoCut(id=rec.id, start=0.0, duration=rec.duration, channel=0, recording=rec, supervisions=[sup])


def read_covost2(cv_root: str | Path, covost_dir: str | Path, langs: list[str], skips: SkipLog,
                 threads: int = 4) -> dict[tuple[str, str], list[MonoCut]]:
    """All cuts by (language, split); problems go to ``skips`` (which raises in strict mode)."""
    cv_root, covost_dir = Path(cv_root), Path(covost_dir)
    for root, option in ((cv_root, "--cv-root"), (covost_dir, "--covost-dir")):
        if not root.is_dir():
            raise DataError(f"{option}: directory not found", root)
    out: dict[tuple[str, str], list[MonoCut]] = {}
    for lang in langs:
        rows = join_language(cv_root, covost_dir, lang, skips)
        clips_dir = cv_root / cv_code(lang) / "clips"
        with ThreadPoolExecutor(max(1, threads)) as pool:
            for row, rec, reason, message in pool.map(lambda r: _probe(r, clips_dir), rows):
                if reason is not None:
                    skips.skip(reason, row.path, row.line, message, lang=row.lang, split=row.split)
                else:
                    out.setdefault((row.lang, row.split), []).append(make_cut(row, rec))
    if not out:
        raise DataError(f"no usable utterance for languages {','.join(langs)} ({skips.summary()})", cv_root)
    return out
