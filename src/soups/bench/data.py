"""``soups bench data``: throughput of the data pipeline, and start-up cost on a large manifest.

Command lines (numbers in docs/performance.md, "Data pipeline")::

    soups bench data --json                           # (a) only: built-in corpus (tiny, English), 2 threads
    soups bench data --manifest-size 300000 --json    # (a) + (b): start-up on a 300k-cut manifest

(a) **Throughput** on the built-in corpus (``soups prepare synthetic``, reused when present under
``--work``): fbank extraction into the feature store (``soups.data.feature_store``, ``--threads`` worker
threads), then one epoch of batches from a :class:`~soups.data.streams.Stream` collated in the main thread —
from stored features, and on the fly from audio. Torch runs one intra-op thread (with two on a shared 2-core
machine, fbank was measured 2-50x slower: OpenMP threads spin against other processes). Reported as
utterances/s and × real time (audio seconds per wall second).

(b) **Start-up** (``--manifest-size N``): N synthetic cut records pointing at a few real audio files are
written to disk (no audio is synthesized per record); a fresh Python process then builds a ``Stream`` on
them — read lazily, as a stream of more than ``soups.data.streams.IN_MEMORY_CUTS`` cuts is — and draws the
first batch, reporting wall times, resident memory and the number of live Python objects
(``gc.get_objects()``) before and after — and, for comparison, the memory an eagerly loaded list of cuts
would need (measured on a sample, extrapolated to N), and how long a plain newline count of the manifest
takes (what counting could cost).

>>> result = run_data_bench(work="runs/bench-data", manifest_size=0)   # doctest: +SKIP
>>> sorted(result)                                                      # doctest: +SKIP
['features', 'host', 'startup']
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from soups.data.skips import SkipLog

LANG = "en"


def _stream_epoch(data_dir: Path, split: str, batch_cuts: int, cmvn) -> dict:
    """One epoch of a Stream over ``data_dir`` (features when ``fbank/`` holds them); timings and counts."""
    from soups.data.batch import collate
    from soups.data.streams import Source, Stream, StreamConfig

    t0 = time.perf_counter()
    stream = Stream(StreamConfig(LANG, (Source(LANG, str(data_dir), split),), max_cuts=batch_cuts, shuffle=True,
                                 seed=0), lambda name, cuts: collate(name, cuts, cmvn))
    t_build = time.perf_counter() - t0
    utts, frames = 0, 0
    while stream.epoch == 0:
        batch = stream.next_batch()
        if stream.epoch > 0:  # the call that wrapped around returned the next epoch's first batch
            break
        utts += len(batch)
        frames += int(batch.feat_lens.sum())
    wall = time.perf_counter() - t0
    audio_s = frames / 100.0
    return {"utterances": utts, "audio_s": round(audio_s, 2), "wall_s": round(wall, 3),
            "build_s": round(t_build, 4), "utt_per_s": round(utts / wall, 1), "x_realtime": round(audio_s / wall, 1)}


def _warm_up(manifest: Path) -> None:
    """One decode + fbank before timing (torch and the decoders initialise lazily on first use)."""
    from soups.data.features import fbank_extractor
    from soups.data.manifests import load_cuts

    cut = next(iter(load_cuts(manifest)))
    fbank_extractor().extract(cut.load_audio(), cut.sampling_rate)


def bench_throughput(work: Path, size: str = "tiny", threads: int = 2, batch_cuts: int = 16) -> dict:
    """(a): extraction and batching throughput on the built-in corpus (English train split)."""
    import torch

    from soups.data.feature_store import store_features
    from soups.data.features import GlobalCMVN, NUM_MEL_BINS
    from soups.data.manifests import manifest_path
    from soups.data.prepare import prepare_synthetic

    corpus = work / f"synthetic-{size}-{LANG}"
    prepare_synthetic(corpus, size=size, seed=0, langs=(LANG,), workers=threads)
    # one intra-op thread: fbank on 2 intra-op threads is 2-50x slower when the cores are shared (OpenMP spin)
    torch.set_num_threads(1)
    cmvn = GlobalCMVN(torch.zeros(NUM_MEL_BINS), torch.ones(NUM_MEL_BINS))
    _warm_up(manifest_path(corpus, LANG, "train"))
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        tmp = Path(tmp)
        shutil.copy(manifest_path(corpus, LANG, "train"), manifest_path(tmp, LANG, "train"))
        on_the_fly = _stream_epoch(tmp, "train", batch_cuts, cmvn)      # no fbank/ yet: audio decoded per batch
        t0 = time.perf_counter()
        kept = store_features(manifest_path(tmp, LANG, "train"), tmp / "fbank", SkipLog(), LANG, "train", threads)
        extract_wall = time.perf_counter() - t0
        stored = _stream_epoch(tmp, "train", batch_cuts, cmvn)
    audio_s = stored["audio_s"]
    return {"corpus": str(corpus), "utterances": kept, "audio_s": audio_s, "extraction_threads": threads,
            "torch_threads": 1, "batching": "main thread (as the trainer collates)",
            "extraction": {"wall_s": round(extract_wall, 3), "utt_per_s": round(kept / extract_wall, 1),
                           "x_realtime": round(audio_s / extract_wall, 1)},
            "batching_from_features": stored, "batching_from_audio": on_the_fly}


def write_large_manifest(path: Path, n: int, audio_dir: Path, clips: int = 4) -> dict:
    """N cut records (ids ``big-0000000``…) cycling over ``clips`` real audio files; returns sizes."""
    import soundfile as sf

    from soups.data.audio_dir import AudioItem, probe_item, item_cut
    from soups.data.synthetic.tts import Espeak, Voice

    audio_dir.mkdir(parents=True, exist_ok=True)
    texts = ["hello world", "the cat sleeps on the mat", "a short test sentence", "good morning to you all"]
    templates = []
    for i in range(clips):
        wav = audio_dir / f"clip{i}.wav"
        if not wav.is_file():
            sf.write(wav, Espeak().synthesize(texts[i % len(texts)], Voice(LANG, f"m{1 + i % 7}", 160, 50)), 16000)
        _, rec, reason, message = probe_item(AudioItem(f"clip{i}", wav, LANG, "train", texts[i % len(texts)]))
        if rec is None:
            raise RuntimeError(f"bench clip unusable ({reason}): {message}")
        templates.append(item_cut(AudioItem(f"clip{i}", wav, LANG, "train", texts[i % len(texts)], f"spk{i}", "m"),
                                  rec).to_dict())
    t0 = time.perf_counter()
    with open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0,
                                                compresslevel=1) as f:
        for k in range(n):
            d = templates[k % clips]
            uid = f"big-{k:07d}"
            rec = {**d["recording"], "id": uid}
            sup = {**d["supervisions"][0], "id": uid, "recording_id": uid}
            f.write((json.dumps({**d, "id": uid, "recording": rec, "supervisions": [sup]}) + "\n").encode())
    return {"cuts": n, "bytes": path.stat().st_size, "write_s": round(time.perf_counter() - t0, 2)}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _count_lines(path: Path) -> int:
    n = 0
    with gzip.open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
    return n


def startup_child(data_dir: str, batch_cuts: int = 16, sample: int = 20000) -> dict:
    """Run in a fresh process (``python -m soups.bench.data DIR``): start-up costs of a Stream on DIR."""
    import gc

    import torch

    from soups.data.batch import collate
    from soups.data.manifests import load_cuts, manifest_path
    from soups.data.streams import Source, Stream, StreamConfig

    torch.set_num_threads(1)
    path = manifest_path(data_dir, LANG, "train")
    gc.collect()
    out = {"rss_after_imports_mb": round(_rss_mb(), 1), "objects_after_imports": len(gc.get_objects())}
    t0 = time.perf_counter()
    stream = Stream(StreamConfig(LANG, (Source(LANG, str(data_dir), "train"),), max_cuts=batch_cuts, seed=0,
                                 in_memory_cuts=0),   # the lazy path of a manifest beyond IN_MEMORY_CUTS
                    lambda name, cuts: collate(name, cuts, None))
    out["stream_build_s"] = round(time.perf_counter() - t0, 3)
    gc.collect()
    out.update(rss_after_build_mb=round(_rss_mb(), 1), objects_after_build=len(gc.get_objects()))
    t1 = time.perf_counter()
    batch = stream.next_batch()
    out["first_batch_s"] = round(time.perf_counter() - t1, 3)
    out["startup_total_s"] = round(time.perf_counter() - t0, 3)
    gc.collect()
    out.update(first_batch_size=len(batch), rss_after_first_batch_mb=round(_rss_mb(), 1),
               objects_after_first_batch=len(gc.get_objects()), peak_rss_mb=round(_peak_mb(), 1),
               num_cuts=stream.num_cuts, sampler_buffer_cuts=max(2000, min(20000, stream.num_cuts)))
    t2 = time.perf_counter()
    sum(1 for _ in load_cuts(path))          # what Stream's start-up does today (streams._count)
    out["count_by_parsing_s"] = round(time.perf_counter() - t2, 3)
    t3 = time.perf_counter()
    _count_lines(path)
    out["count_by_newlines_s"] = round(time.perf_counter() - t3, 3)
    before = _rss_mb()
    held = [c for _, c in zip(range(min(sample, stream.num_cuts)), load_cuts(path))]
    per_cut_kb = (_rss_mb() - before) * 1024 / max(1, len(held))
    out.update(eager_sample_cuts=len(held), eager_kb_per_cut=round(per_cut_kb, 2),
               eager_estimate_mb=round(per_cut_kb * stream.num_cuts / 1024, 1))
    return out


def bench_startup(work: Path, n: int, batch_cuts: int = 16) -> dict:
    """(b): write an N-cut manifest, then measure a Stream's start-up in a fresh process."""
    big = work / f"manifest-{n}"
    big.mkdir(parents=True, exist_ok=True)
    from soups.data.manifests import manifest_path

    written = write_large_manifest(manifest_path(big, LANG, "train"), n, work / "bench-clips")
    proc = subprocess.run([sys.executable, "-m", "soups.bench.data", str(big), str(batch_cuts)],
                          capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if proc.returncode != 0:
        raise RuntimeError(f"start-up child failed:\n{proc.stderr[-3000:]}")
    return {"manifest": written, **json.loads(proc.stdout.strip().splitlines()[-1])}


def run_data_bench(work: str | Path = "runs/bench-data", manifest_size: int = 0, size: str = "tiny",
                   threads: int = 2, batch_cuts: int = 16, skip_throughput: bool = False) -> dict:
    """Both parts; ``manifest_size`` 0 skips (b), ``skip_throughput`` skips (a)."""
    import platform

    import lhotse
    import torch

    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    out: dict = {"host": {"cpus": os.cpu_count(), "torch": torch.__version__,
                          "lhotse": lhotse.__version__, "python": platform.python_version()}}
    out["features"] = None if skip_throughput else bench_throughput(work, size, threads, batch_cuts)
    out["startup"] = bench_startup(work, manifest_size, batch_cuts) if manifest_size > 0 else None
    return out


if __name__ == "__main__":  # the start-up child: python -m soups.bench.data DIR [BATCH_CUTS]
    print(json.dumps(startup_child(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 16)))
