"""``soups bench data --streams CONFIG``: the data time per step of an experiment's streams, with the cuts kept
in memory (the default for streams of up to ``IN_MEMORY_CUTS`` cuts) against read lazily from the manifests.

A trainer epoch restarts every stream's sampler, which fills its buffer with the whole stream: read lazily,
every cut is parsed again and refiltered (docs/performance.md, "Epoch restarts"). This bench builds the
experiment's tokenizers, CMVN and streams (in a temporary directory, with the CTC length filter training
uses) and draws ``--streams-steps`` steps of batches from every stream, the two settings alternating over
``--streams-repeats`` rounds; it reports the mean and median seconds per step, those of the steps that start
an epoch, and whether both settings drew the same cuts::

    soups bench data --streams runs/grid-converge/linear/seed0/config.yaml --skip-throughput --json  # ~1 min

>>> bench_streams("configs/demo.yaml", steps=100)         # doctest: +SKIP
{'config': 'configs/demo.yaml', 'epoch_batches': 1667, 'in_memory': {'mean_s': ...}, 'lazy': {...}, ...}
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path


def _draw(cfg, work: Path, steps: int, in_memory: bool) -> tuple[dict, list, int | None]:
    """One run: its timings, the cut ids drawn per step, the streams' epoch length in batches."""
    from soups.data.skips import SkipLog
    from soups.train import build

    toks, cmvn = build.build_tokenizers(cfg, work), build.build_cmvn(cfg, work)
    streams = build.build_streams(cfg, toks, cmvn, SkipLog(), in_memory_cuts=None if in_memory else 0)
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
    """Data seconds per step, in memory vs lazily read, ``repeats`` alternating rounds (medians over them)."""
    from soups.train.config import load_config

    cfg = load_config(config, list(overrides))
    runs, draws, epoch = {"in_memory": [], "lazy": []}, {}, None
    with tempfile.TemporaryDirectory(prefix="soups-bench-streams-") as work:
        for r in range(repeats):
            for name in (("in_memory", "lazy") if r % 2 == 0 else ("lazy", "in_memory")):
                result, draws[name], epoch = _draw(cfg, Path(work), steps, name == "in_memory")
                runs[name].append(result)
    out: dict = {"config": str(config), "overrides": list(overrides), "steps": steps, "epoch_batches": epoch,
                 "same_batches": draws["in_memory"] == draws["lazy"]}
    for name, results in runs.items():
        out[name] = {key: None if results[0][key] is None else round(statistics.median(r[key] for r in results), 5)
                     for key in results[0]} | {"runs": results}
    out["mean_ratio"] = round(out["lazy"]["mean_s"] / out["in_memory"]["mean_s"], 2)
    return out
