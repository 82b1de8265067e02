"""Precomputed features: ``soups features DIR`` stores 80-dim fbank for every manifest of a prepared data
directory (lhotse ``LilcomChunkyWriter``), so training reads features instead of decoding audio.

Layout inside the prepared directory::

    fbank/cuts_<lang>_<split>.jsonl.gz    # the same cuts, with features attached
    fbank/feats_<lang>_<split>.lca         # lilcom-compressed feature matrices

Audio that fails to decode, or whose samples or features are not finite, is skipped, counted
(``unreadable_audio``) and recorded in ``fbank/skips_<lang>_<split>.json`` (merged into the directory's skip
report by ``load_skips``). Work is split over threads (lhotse's fbank runs in torch and soundfile's decoders
release the GIL). A manifest whose feature manifest is newer is reused.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from soups.data.features import fbank_extractor
from soups.data.manifests import list_manifests, load_cuts, save_cuts, save_skips
from soups.data.skips import SkipLog

log = logging.getLogger(__name__)
FEATURE_DIR = "fbank"


def _extract(cut, extractor):
    source = cut.recording.sources[0].source if cut.recording is not None else cut.id
    try:
        audio = cut.load_audio()
        if not np.isfinite(audio).all():  # NaN/inf samples would poison CMVN and every batch they join
            return None, f"{source}: non-finite audio samples (NaN or inf)"
        feats = extractor.extract(audio, cut.sampling_rate)
        if not np.isfinite(feats).all():
            return None, f"{source}: non-finite features"
        return feats, None
    except Exception as err:  # a decoder failure belongs to the file; report it with the file's path
        return None, f"cannot decode {source}: {type(err).__name__}: {err}"


def store_features(manifest: Path, out_dir: Path, skips: SkipLog, lang: str, split: str, threads: int = 2,
                   chunk: int = 1000) -> int:
    """Compute and store features for one manifest, streaming it in chunks (bounded memory); returns the
    number of cuts kept."""
    from itertools import islice

    from lhotse import LilcomChunkyWriter

    from tqdm import tqdm

    extractor = fbank_extractor()
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    source = iter(load_cuts(manifest))
    kept = 0
    bar = tqdm(desc=f"fbank {lang} {split}", unit="cut", disable=None, leave=False, dynamic_ncols=True)

    def featurized():
        nonlocal kept
        while batch := list(islice(source, chunk)):
            for cut, (feats, error) in zip(batch, pool.map(lambda c: _extract(c, extractor), batch)):
                bar.update(1)
                if error is not None:
                    skips.skip("unreadable_audio", manifest, None, f"{cut.id}: {error}", lang=lang, split=split)
                    continue
                kept += 1
                yield _attach(cut, feats, writer, extractor)

    with bar, LilcomChunkyWriter(out_dir / f"feats_{lang}_{split}.lca") as writer, ThreadPoolExecutor(threads) as pool:
        save_cuts(featurized(), out_dir / manifest.name)
    return kept


def _attach(cut, feats, writer, extractor):
    """Store ``feats`` and return the cut with a ``Features`` manifest pointing at them."""
    from lhotse.features.base import Features

    key = writer.write(cut.id, feats)
    cut.features = Features(
        type=extractor.name, num_frames=feats.shape[0], num_features=feats.shape[1],
        frame_shift=extractor.frame_shift, sampling_rate=cut.sampling_rate, start=cut.start,
        duration=cut.duration, storage_type=writer.name, storage_path=str(Path(writer.storage_path).resolve()),
        storage_key=key, channels=0)
    return cut


def compute_features(data_dir: str | Path, threads: int = 2, strict: bool = False, force: bool = False) -> dict:
    """Features for every manifest of ``data_dir``; returns ``{lang: {split: kept}}``."""
    data_dir = Path(data_dir)
    out_dir = data_dir / FEATURE_DIR
    counts: dict[str, dict[str, int]] = {}
    for lang, splits in list_manifests(data_dir).items():
        for split, manifest in splits.items():
            target = out_dir / manifest.name
            if not force and target.is_file() and target.stat().st_mtime >= manifest.stat().st_mtime:
                counts.setdefault(lang, {})[split] = sum(1 for _ in load_cuts(target))
                continue
            skips = SkipLog(strict=strict)
            counts.setdefault(lang, {})[split] = store_features(manifest, out_dir, skips, lang, split, threads)
            save_skips(out_dir, skips, name=f"skips_{lang}_{split}.json")
    return counts
