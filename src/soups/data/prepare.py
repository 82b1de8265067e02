"""Corpus -> prepared data directory (lhotse manifests + skip report). Used by ``soups prepare …``."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from soups.data.covost2 import read_covost2
from soups.data.languages import ALL_LANGS
from soups.data.manifests import manifest_path, save_cuts, save_skips
from soups.data.skips import SkipLog
from soups.errors import DataError, SoupsError

log = logging.getLogger(__name__)


def write_prepared(out: Path, cuts: dict[tuple[str, str], list], skips: SkipLog) -> dict[str, dict[str, int]]:
    """Write one manifest per (lang, split), sorted by cut id, and the skip report."""
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, dict[str, int]] = {}
    for (lang, split), items in sorted(cuts.items()):
        counts.setdefault(lang, {})[split] = save_cuts(sorted(items, key=lambda c: c.id),
                                                       manifest_path(out, lang, split))
    save_skips(out, skips)
    return counts


def prepare_covost2(cv_root: str | Path, covost_dir: str | Path, langs: list[str], out: str | Path,
                    strict: bool = False, threads: int = 4) -> dict:
    """Read a Common Voice + CoVoST 2 layout and write manifests to ``out``."""
    skips = SkipLog(strict=strict)
    cuts = read_covost2(cv_root, covost_dir, langs, skips, threads=threads)
    counts = write_prepared(Path(out), cuts, skips)
    return {"utterances": counts, "skipped": skips.to_dict(), "summary": skips.summary()}


def require_synthetic_extra(langs) -> None:
    """The synthesizer's own dependencies (the ``synthetic`` extra), checked before any worker starts."""
    import importlib.util

    needed = ["espeakng_loader"] + (["pypinyin"] if "zh" in langs else [])
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        raise SoupsError(f"the built-in corpus needs {', '.join(missing)}: pip install 'soups[synthetic]' "
                         "(`make install` installs it)")


def prepare_synthetic(out: str | Path, size: str = "tiny", seed: int = 0, langs: tuple[str, ...] = ALL_LANGS,
                      workers: int = 2, audio_format: str = "flac", strict: bool = False, progress=None,
                      conditions=None) -> dict:
    """Synthesize the built-in corpus under ``out/corpus`` (reusing what exists) and prepare it."""
    from soups.data.synthetic.corpus import Conditions, build_corpus

    require_synthetic_extra(langs)
    out = Path(out)
    t0 = time.time()
    built = build_corpus(out / "corpus", size, seed, tuple(langs), workers, audio_format, progress,
                         conditions or Conditions())
    t1 = time.time()
    report = prepare_covost2(out / "corpus" / "cv", out / "corpus" / "covost", list(langs), out, strict)
    report.update(corpus=built, synthesis_s=round(t1 - t0, 1), reading_s=round(time.time() - t1, 1))
    return report


def write_split(out: Path, lang: str, split: str, cuts) -> int:
    """Stream ``cuts`` (already sorted) into ``cuts_<lang>_<split>.jsonl.gz``; returns the number written.

    Nothing is kept in memory. A split left without cuts gets no manifest (an older one is removed), so
    that a stream never silently reads stale or empty data; an error (strict mode) leaves no partial file.
    """
    path = manifest_path(out, lang, split)
    try:
        n = save_cuts(cuts, path)
    except BaseException:
        path.with_name(path.name + ".tmp").unlink(missing_ok=True)
        raise
    if n == 0:
        path.unlink(missing_ok=True)
    return n


def _finish(out: Path, counts: dict, skips: SkipLog, **extra) -> dict:
    save_skips(out, skips)
    if not any(n for splits in counts.values() for n in splits.values()):
        raise DataError(f"no usable utterance ({skips.summary()})", out)
    return {"utterances": counts, "skipped": skips.to_dict(), "summary": skips.summary(), **extra}


def prepare_librispeech(root: str | Path, parts: list[str], out: str | Path, unlabeled: list[str] = (),
                        strict: bool = False, threads: int = 4) -> dict:
    """LibriSpeech parts -> ``cuts_en_<part>.jsonl.gz`` (unlabeled parts: cuts without text)."""
    from soups.data.audio_dir import probe_cuts
    from soups.data.librispeech import LANG, LibriSpeechParts, load_speakers, part_items

    root, out = Path(root), Path(out)
    if not root.is_dir():
        raise DataError("--root: directory not found", root)
    spec = LibriSpeechParts(root, list(parts), list(unlabeled))
    skips, warnings, seen = SkipLog(strict=strict), [], {}
    speakers = load_speakers(root, skips, warnings)
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, dict[str, int]] = {LANG: {}}
    without_gender = 0
    for part in spec.labeled + spec.unlabeled:
        items = part_items(spec, part, speakers, skips, seen)
        without_gender += sum(1 for i in items if i.gender is None)
        counts[LANG][part] = write_split(out, LANG, part, probe_cuts(items, skips, threads))
    return _finish(out, counts, skips, unlabeled=list(spec.unlabeled), warnings=warnings,
                   speakers_with_gender=len(speakers), items_without_gender=without_gender)


def prepare_aishell(root: str | Path, out: str | Path, strict: bool = False, threads: int = 4) -> dict:
    """AISHELL-1 -> ``cuts_zh_{train,dev,test}.jsonl.gz`` (archives extracted safely, once)."""
    from soups.data.aishell import LANG, aishell_items
    from soups.data.audio_dir import probe_cuts

    out = Path(out)
    skips = SkipLog(strict=strict)
    found = aishell_items(root, skips)
    out.mkdir(parents=True, exist_ok=True)
    counts = {LANG: {split: write_split(out, LANG, split, probe_cuts(items, skips, threads))
                     for split, items in sorted(found.by_split.items())}}
    archives = {"total": len(found.archives), "extracted_now": sum(a.ok and not a.reused for a in found.archives),
                "reused": sum(a.reused for a in found.archives), "corrupt": sum(not a.ok for a in found.archives)}
    return _finish(out, counts, skips, wavs_without_transcript=found.wavs_without_transcript,
                   transcripts_without_wav=found.transcripts_without_wav, archives=archives)


def prepare_audio_dir(root: str | Path, lang: str, out: str | Path, split: str = "train", strict: bool = False,
                      threads: int = 4) -> dict:
    """Every audio file under ``root`` -> ``cuts_<lang>_<split>.jsonl.gz`` without text (an SSL-only stream)."""
    from soups.data.audio_dir import audio_dir_items, probe_cuts

    out = Path(out)
    skips = SkipLog(strict=strict)
    items = audio_dir_items(root, lang, split, skips)
    out.mkdir(parents=True, exist_ok=True)
    counts = {lang: {split: write_split(out, lang, split, probe_cuts(items, skips, threads))}}
    return _finish(out, counts, skips, unlabeled=[split])
