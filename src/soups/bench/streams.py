"""``soups bench data --streams CONFIG``: the data time per step of an experiment's streams, with the cuts kept
in memory (the default for streams of up to ``IN_MEMORY_CUTS`` cuts) against read lazily from the manifests,
and with decoded features kept in memory (``data.feature_cache_mb``, default) against decoded at every draw.

A trainer epoch restarts every stream's sampler, which fills its buffer with the whole stream: read lazily,
every cut is parsed again and refiltered (docs/performance.md, "Epoch restarts"). This bench builds the
experiment's tokenizers, CMVN and streams (in a temporary directory, with the CTC length filter training
uses) and draws ``--streams-steps`` steps of batches from every stream, the three settings alternating over
``--streams-repeats`` rounds; it reports the mean and median seconds per step, those of the steps that start
an epoch, and whether every setting drew the same cuts. The feature cache pays once the steps have drawn most
of the training utterances (the converged grid: ~170 steps)::

    soups bench data --streams runs/grid-converge/linear/seed0/config.yaml --streams-steps 400 --skip-throughput --json

>>> bench_streams("configs/demo.yaml", steps=100)         # doctest: +SKIP
{'config': 'configs/demo.yaml', 'epoch_batches': 1667, 'in_memory': {'mean_s': ...}, 'lazy': {...}, ...}
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from pathlib import Path


# the settings compared: data config fields set on top of the experiment's
SETTINGS = {"in_memory": {}, "lazy": {"in_memory_cuts": 0}, "no_feature_cache": {"feature_cache_mb": 0}}


def _draw(cfg, work: Path, steps: int, data: dict) -> tuple[dict, list, int | None]:
    """One run: its timings, the cut ids drawn per step, the streams' epoch length in batches."""
    from soups.data.skips import SkipLog
    from soups.train import build

    toks, cmvn = build.build_tokenizers(cfg, work), build.build_cmvn(cfg, work)
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, **data))
    streams = build.build_streams(cfg, toks, cmvn, SkipLog())
    epoch = next(iter(streams.values())).cfg.epoch_batches
    times, ids = [], []
    for _ in range(steps):
        t = time.perf_counter()
        batches = {name: s.next_batch() for name, s in streams.items()}
        times.append(time.perf_counter() - t)
        ids.append({name: list(b.cut_ids) for name, b in batches.items()})
    starts = [t for i, t in enumerate(times) if epoch and i and i % epoch == 0]
    return {"mean_s": round(statistics.mean(times[1:]), 5), "median_s": round(statistics.median(times[1:]), 5),
            "epoch_start_s": round(statistics.median(starts), 4) if starts else None,
            "epoch_starts": len(starts)}, ids, epoch


def bench_streams(config: str, steps: int = 100, repeats: int = 2, overrides: tuple[str, ...] = ()) -> dict:
    """Data seconds per step of each of :data:`SETTINGS`, ``repeats`` rounds in alternating order (medians over
    them); ``mean_ratio``: lazy / in memory, ``feature_cache_ratio``: no feature cache / in memory."""
    from soups.train.config import load_config

    cfg = load_config(config, list(overrides))
    runs, draws, epoch = {name: [] for name in SETTINGS}, {}, None
    with tempfile.TemporaryDirectory(prefix="soups-bench-streams-") as work:
        for r in range(repeats):
            for name in (list(SETTINGS) if r % 2 == 0 else list(SETTINGS)[::-1]):
                result, draws[name], epoch = _draw(cfg, Path(work), steps, SETTINGS[name])
                runs[name].append(result)
    out: dict = {"config": str(config), "overrides": list(overrides), "steps": steps, "epoch_batches": epoch,
                 "same_batches": all(d == draws["in_memory"] for d in draws.values())}
    for name, results in runs.items():
        out[name] = {key: None if results[0][key] is None else round(statistics.median(r[key] for r in results), 5)
                     for key in results[0]} | {"runs": results}
    out["mean_ratio"] = round(out["lazy"]["mean_s"] / out["in_memory"]["mean_s"], 2)
    out["feature_cache_ratio"] = round(out["no_feature_cache"]["mean_s"] / out["in_memory"]["mean_s"], 2)
    return out
