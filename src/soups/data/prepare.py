"""Corpus -> prepared data directory (lhotse manifests + skip report). Used by ``soups prepare …``."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from soups.data.covost2 import read_covost2
from soups.data.languages import ALL_LANGS
from soups.data.manifests import manifest_path, save_cuts, save_skips
from soups.data.skips import SkipLog

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


def prepare_synthetic(out: str | Path, size: str = "tiny", seed: int = 0, langs: tuple[str, ...] = ALL_LANGS,
                      workers: int = 2, audio_format: str = "mp3", strict: bool = False, progress=None) -> dict:
    """Synthesize the built-in corpus under ``out/corpus`` (reusing what exists) and prepare it."""
    from soups.data.synthetic.corpus import build_corpus

    out = Path(out)
    t0 = time.time()
    built = build_corpus(out / "corpus", size, seed, tuple(langs), workers, audio_format, progress)
    t1 = time.time()
    report = prepare_covost2(out / "corpus" / "cv", out / "corpus" / "covost", list(langs), out, strict)
    report.update(corpus=built, synthesis_s=round(t1 - t0, 1), reading_s=round(time.time() - t1, 1))
    return report
