"""``soups bench data --prefetch CONFIG``: the training step's data time with batches prepared in the step
and ahead in a background thread (``data.prefetch``; :mod:`soups.data.prefetch`).

For each setting the experiment's own context is built (tokenizers, CMVN and streams from its corpus, in a
temporary directory), ``--prefetch-warmup`` steps run untimed, then ``--prefetch-steps`` timed; the settings
alternate over ``--prefetch-repeats`` rounds (ABBA…), since a shared machine's speed drifts. Reported per run:
the median seconds the step spent getting its batches (``data_s``: waiting, augmenting, moving to the device),
the median step and the mean wall time per step (what throughput sees), and the medians over the rounds::

    soups bench data --prefetch configs/demo.yaml --skip-throughput --json                      # ~3 min
    soups bench data --prefetch configs/demo.yaml --prefetch-set train.threads=1 --skip-throughput --json

On 2 CPU cores the data time falls from 4.5-7.4 % of the demo's step to 0.02 % and the wall time per step
rises by 9-14 % (the data thread's Python work contends for the GIL): ``data.prefetch: auto`` reads ahead on
a GPU only (docs/performance.md, "Data off the critical path").

>>> bench_prefetch("configs/demo.yaml", steps=20)         # doctest: +SKIP
{'config': 'configs/demo.yaml', 'threads': 2, 'auto_depth': 0, 'runs': [...],
 'inline': {'data_share': 0.074, ...}, 'ahead': {'data_share': 0.0002, ...}, 'wall_ratio': 1.14}
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path


def _timed_run(config: str, overrides: list[str], depth: int, steps: int, warmup: int) -> dict:
    from soups.train.config import load_config
    from soups.train.loop import make_context
    from soups.train.step import train_step

    cfg = load_config(config, overrides + [f"data.prefetch={depth}"])
    with tempfile.TemporaryDirectory(prefix="soups-bench-prefetch-") as work:
        ctx = make_context(cfg, Path(work))
        try:
            for _ in range(warmup):
                train_step(ctx)
            recs, start = [], time.perf_counter()
            for _ in range(steps):
                t = time.perf_counter()
                rec = train_step(ctx)
                recs.append((rec["data_s"], time.perf_counter() - t))
            wall = (time.perf_counter() - start) / steps
        finally:
            ctx.data.close()
    data_s, step_s = statistics.median(r[0] for r in recs), statistics.median(r[1] for r in recs)
    return {"depth": depth, "data_s": round(data_s, 5), "step_s": round(step_s, 4), "wall_s": round(wall, 4),
            "data_share": round(data_s / step_s, 5)}


def bench_prefetch(config: str, steps: int = 30, warmup: int = 5, repeats: int = 3,
                   overrides: tuple[str, ...] = ()) -> dict:
    """Data time and step time, batches prepared in the step (depth 0) vs one step ahead (depth 1)."""
    import torch

    from soups.train.config import load_config
    from soups.train.loop import pick_device, prefetch_depth

    cfg = load_config(config, list(overrides))
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    out: dict = {"config": str(config), "overrides": list(overrides), "steps": steps, "warmup": warmup,
                 "threads": torch.get_num_threads(), "auto_depth": prefetch_depth(cfg, pick_device(cfg)),
                 "runs": []}
    for r in range(repeats):
        for depth in ((0, 1) if r % 2 == 0 else (1, 0)):
            out["runs"].append(_timed_run(config, list(overrides), depth, steps, warmup))
    for name, depth in (("inline", 0), ("ahead", 1)):
        runs = [run for run in out["runs"] if run["depth"] == depth]
        out[name] = {k: statistics.median(run[k] for run in runs) for k in ("data_s", "data_share", "step_s",
                                                                            "wall_s")}
    out["wall_ratio"] = round(out["ahead"]["wall_s"] / out["inline"]["wall_s"], 3)   # < 1: prefetching pays
    return out
