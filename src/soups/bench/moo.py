"""``soups bench moo``: step time and peak memory of the gradient engine's modes, as ratios to linear.

Command lines (numbers in docs/performance.md, "Multi-objective optimisation")::

    soups bench moo --json --growth                    # tiny + mid models, 10 objectives, growth M = 3..43
    soups bench moo --model mid --steps 5 --json       # one model, no growth curve
    soups bench moo --model hf --modes fast,modo --json              # a random transformers Wav2Vec2 (mid size)
    soups bench moo --model hf --hf-path models/xls-r-300m --json   # any supported backbone directory
    soups bench moo --quick --growth --json            # tiny, 2 steps, small batches, M = 3, 8 (the tests)
    soups bench moo --model tiny --growth-m 3,43 --json   # tiny only, growth at M = 3 and 43 only
    soups bench moo --device cuda --json --growth      # on a GPU (peak = torch.cuda.max_memory_allocated)

Modes, on the same model, objectives and batches (:mod:`soups.bench.moo_setup`): ``linear`` (static weights,
one backward, one joint encoder pass), ``linear_per_stream`` (the same with one encoder pass per stream, as
faithful/layers/torchjd run: the like-for-like base of their ratios), ``modo`` (engine mode ``faithful``, VS
MoDo: exact per-objective gradients on two batch halves, one encoder call per half), ``modo_per_stream`` (the
same with one encoder call per stream: each half's gradients back-propagate through both halves), ``modo_batched``
(``modo`` with ``moo.batched_vjp``: each half's per-objective products in one backward vmapped over the
cotangents), ``modo_layers`` (engine mode ``layers``: MoDo on
the conflicting layers only; a probe of all layers every ``moo.layers.refresh_every`` = 50 steps, timed
separately), ``layers_first`` / ``layers_last`` / ``layers_all`` (reading (a) with a fixed selection:
frontend + block 0, the last block, every layer; no probes), ``layers_amortized`` (reading (b): λ from the
frontend + block 0 Gram every 10 steps, one weighted backward per step; timed as the mean over whole
periods; its probe step — every layer's gradients streamed into 1024-column count sketches — timed and
profiled on its own, ``probe_*`` and ``ratio_time_amortized`` as for ``modo_layers``), ``modo_sketch`` (faithful MoDo with the Gram estimated from a ``moo.sketch.k`` = 64-column count
sketch of each G row), ``fast`` (Gram at the encoder output, then one encoder backward) and ``torchjd``
(``torchjd.autojac.mtl_backward`` + UPGrad). ``--modes`` runs a subset (linear always).

Each (model, mode) runs in a fresh Python process, so peaks do not mix: ``warmup`` untimed steps, then
the median of ``steps`` timed steps. Peak memory (``peak_mb``): on CUDA ``torch.cuda.max_memory_allocated``
(reset after the warm-up); on CPU, where torch keeps no allocator statistics, the live tensor bytes at the
step's peak — tensors alive between steps (parameters, buffers, AdamW state, batches) plus the largest
running sum of one extra step's allocations and frees recorded by the torch profiler (``profile_memory``).
Also on CPU, ``peak_rss_mb``: the resident high-water mark during the timed steps (``VmHWM``, reset through
``/proc/self/clear_refs`` after the warm-up) minus the resident size after the imports — it adds what the
C allocator keeps cached. The growth curve reports only the latter (as ``peak_mb``; no profiled step).

``fast`` and ``linear`` differ by a few percent, less than the drift of a shared machine's load between two
processes, so they are also compared in ONE process with alternated steps (``ratio_time_paired``).

>>> result = run_moo_bench(models=["tiny"], quick=True)     # doctest: +SKIP
>>> sorted(result["modes"]["fast"])[:4]                     # doctest: +SKIP
['peak_mb', 'ratio_mem', 'ratio_time', 'step_s']
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time

import torch

from soups.bench import moo_setup as ms

BENCH_MODES = ("linear", "linear_per_stream", "modo", "modo_per_stream", "modo_batched", "modo_layers", "layers_first",
               "layers_last", "layers_all", "layers_amortized", "modo_sketch", "fast", "torchjd")
GROWTH_MODES = ("linear", "fast", "modo")
GROWTH_M = (3, 8, 13, 18, 23, 28, 33, 38, 43)
# (utterances per stream, seconds per utterance, growth utterances) by size
BATCHES = {"full": (8, 3.0, 8), "quick": (2, 1.5, 2)}


def _timed(s, step: int, train_step) -> tuple[float, dict]:
    sync = torch.cuda.synchronize if s.device.type == "cuda" else (lambda: None)
    sync()
    t0 = time.perf_counter()
    info = train_step(s, step)
    sync()
    return time.perf_counter() - t0, info


def _measure(s, spec: dict, base_rss: float, first: int, steps: int, train_step) -> dict:
    """Timed steps ``first .. first+steps-1``: median time, peak memory (CPU: resident high-water mark).
    ``layers_amortized`` computes λ on one step in ``AMORTIZE_K``: the mean over whole periods instead."""
    ms.reset_peak(s.device)
    amortized = spec["mode"] == "layers_amortized"
    if amortized:
        k = ms.AMORTIZE_K
        first, steps = -(-first // k) * k, k * max(1, -(-steps // k))
    times, info = [], {}
    for i in range(first, first + steps):
        dt, info = _timed(s, i, train_step)
        times.append(dt)
    key = "peak_rss_mb" if s.device.type == "cpu" else "peak_mb"
    return {"step_s": statistics.mean(times) if amortized else statistics.median(times),
            key: ms.peak_mb(s.device, base_rss),
            "times_s": [round(t, 4) for t in times], "info": info}


def _layers_probe(s, spec: dict, base_rss: float, out: dict, train_step) -> None:
    """modo_layers (and layers_amortized): one more probe of every layer (a step index multiple of
    refresh_every), timed and profiled on its own."""
    k = s.cfg.moo.layers.refresh_every
    probe = _measure(s, dict(spec, mode="probe"), base_rss, k * 1000, 1, train_step)
    out.update(selected_layers=list(out["info"].selected or []), num_layers=len(s.moo.engine.layer_groups),
               probe_step_s=probe["step_s"])
    for key in ("peak_rss_mb", "peak_mb"):
        if key in probe:
            out["probe_" + key], out["steady_" + key] = probe[key], out[key]
            out[key] = max(out[key], probe[key])     # the probe needs every layer's G
    if s.device.type == "cpu" and spec.get("tensor_peak", True):
        out["probe_peak_mb"] = ms.tensor_peak_mb(s, k * 1001, train_step)


@contextlib.contextmanager
def _streamed_probe_step(s):
    """layers_amortized runs a fixed selection (no probes); its probe step is measured on its own: the selection
    released for one step at a multiple of ``refresh_every``, the probe streamed into count sketches
    (``moo.layers.probe_sketch_k``), and a threshold of -1 so that no layer is selected — the step is the probe
    plus a plain weighted backward, whatever random batches would make the probe select."""
    sel = s.moo.engine.selector
    fixed, threshold = sel.fixed, sel.threshold
    sel.fixed, sel.threshold = None, -1.0
    try:
        yield
    finally:
        sel.fixed, sel.threshold, sel.selected = fixed, threshold, fixed


def worker(spec: dict) -> dict:
    """One (model, mode, objectives) measurement, in this (fresh) process. On CPU the profiled step (tensor
    peak) comes after the timed ones: the profiler's buffers would inflate the resident size."""
    base_rss = ms.mem_mb()["VmRSS"]
    torch.set_num_threads(spec["threads"])
    objectives = ms.suite(spec["model"]) if spec["objectives"] == "suite" else ms.growth_objectives(spec["objectives"])
    cfg = ms.make_config(spec["model"], spec["mode"], objectives, spec["batch_cuts"], spec.get("hf_path"))
    s = ms.build_setup(cfg, spec["seconds"], spec["device"], spec["mode"])
    warm = [_timed(s, i, ms.train_step)[0] for i in range(spec["warmup"])]
    out = _measure(s, spec, base_rss, spec["warmup"], spec["steps"], ms.train_step)
    out.update(warmup_s=[round(t, 4) for t in warm], loadavg=open("/proc/loadavg").read().split()[:3])
    if spec["mode"] == "modo_layers":
        _layers_probe(s, spec, base_rss, out, ms.train_step)
    elif spec["mode"] == "layers_amortized":
        with _streamed_probe_step(s):
            _layers_probe(s, spec, base_rss, out, ms.train_step)
    if s.device.type == "cpu":
        out["peak_mb"] = out["peak_rss_mb"]
        if spec.get("tensor_peak", True):
            out["peak_mb"] = ms.tensor_peak_mb(s, spec["warmup"] + spec["steps"], ms.train_step)
            if "probe_peak_mb" in out:
                out["steady_peak_mb"] = out["peak_mb"]
                out["peak_mb"] = max(out["peak_mb"], out["probe_peak_mb"])
    del out["info"]
    if spec["mode"] != "linear" and spec.get("pairs", 0) > 0:   # after every memory measurement
        out.update(_paired(s, spec, objectives, spec["warmup"] + spec["steps"] + 1))
    enc = s.model.encoder
    out["model"] = {"d_model": enc.d_model, "num_blocks": len(enc.layer_groups()) - 1,
                    "encoder": type(enc).__name__,
                    "encoder_params": sum(p.numel() for p in enc.parameters()),
                    "total_params": sum(p.numel() for p in s.model.parameters()),
                    "streams": len(s.batches), "objectives": len(cfg.objectives)}
    return out


def _paired(s, spec: dict, objectives: list, first: int) -> dict:
    """The mode's steps alternated with those of a linear reference built in this process on the same model
    initialisation and batches (order swapped every pair); the median per-pair time ratio cancels drifts
    of a shared machine's load, which separate processes measured minutes apart do not."""
    ref = ms.build_setup(ms.make_config(spec["model"], "linear", objectives, spec["batch_cuts"], spec.get("hf_path")),
                         spec["seconds"],
                         spec["device"], "linear")
    for i in range(spec["warmup"]):
        _timed(ref, i, ms.train_step)
    ratios, mode_t, lin_t = [], [], []
    amortized = spec["mode"] == "layers_amortized"
    pairs = ms.AMORTIZE_K * max(1, -(-spec["pairs"] // ms.AMORTIZE_K)) if amortized else spec["pairs"]
    first = -(-first // ms.AMORTIZE_K) * ms.AMORTIZE_K if amortized else first
    for k in range(pairs):
        i = first + k
        if k % 2 == 0:
            t_mode, t_lin = _timed(s, i, ms.train_step)[0], _timed(ref, i, ms.train_step)[0]
        else:
            t_lin, t_mode = _timed(ref, i, ms.train_step)[0], _timed(s, i, ms.train_step)[0]
        ratios.append(t_mode / t_lin)
        mode_t.append(t_mode)
        lin_t.append(t_lin)
    paired = sum(mode_t) / sum(lin_t) if amortized else statistics.median(ratios)   # whole λ periods
    return {"ratio_time_paired": paired, "paired_ratios": [round(r, 4) for r in ratios],
            "paired_step_s": statistics.median(mode_t), "paired_linear_s": statistics.median(lin_t)}


def _spawn(spec: dict) -> dict:
    """Run :func:`worker` in a fresh interpreter; its last stdout line is the JSON result."""
    cmd = [sys.executable, "-m", "soups.bench.moo", "--worker", json.dumps(spec)]
    env = dict(os.environ, OMP_NUM_THREADS=str(spec["threads"]), MKL_NUM_THREADS=str(spec["threads"]))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"bench worker failed ({spec['model']}/{spec['mode']}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _ratios(modes: dict[str, dict]) -> None:
    base = modes["linear"]
    for r in modes.values():
        r["ratio_time_unpaired"] = r["step_s"] / base["step_s"]
        r["ratio_time"] = r.get("ratio_time_paired", r["ratio_time_unpaired"])
        r["ratio_mem"] = r["peak_mb"] / base["peak_mb"]
        if "peak_rss_mb" in r:
            r["ratio_mem_rss"] = r["peak_rss_mb"] / base["peak_rss_mb"]
        if "probe_step_s" in r:   # the probe is one step in refresh_every (50)
            probe = r["probe_step_s"] / r["step_s"] * r["ratio_time"]     # in units of linear, via the pairing
            r["ratio_time_probe"] = probe
            r["ratio_mem_steady"] = r["steady_peak_mb"] / base["peak_mb"]
            r["ratio_time_amortized"] = (probe + 49 * r["ratio_time"]) / 50


def bench_model(model: str, common: dict, log, mode_names=BENCH_MODES) -> dict:
    """Every mode (or those of ``mode_names``, linear always) on one model with the 10-objective suite."""
    modes, info = {}, {}
    for mode in [m for m in BENCH_MODES if m == "linear" or m in mode_names]:
        pairs = common["pairs"] * (3 if mode == "fast" else 1)     # fast vs linear: a few percent
        r = _spawn(dict(common, model=model, mode=mode, objectives="suite", pairs=pairs))
        info = r.pop("model")
        modes[mode] = r
        paired = f"  paired {r['ratio_time_paired']:.3f}x linear" if "ratio_time_paired" in r else ""
        log(f"{model:>5} {mode:<12} {r['step_s']:8.3f} s  {r['peak_mb']:8.1f} MB{paired}  load {' '.join(r['loadavg'])}")
    _ratios(modes)
    return {"model": dict(info, name=model, preset="tiny", overrides=ms.MODELS[model],
                          hf_path=common.get("hf_path"),
                          utterances_per_stream=common["batch_cuts"], seconds=common["seconds"]), "modes": modes}


def bench_growth(common: dict, ms_values, max_step_s: float, log) -> dict:
    """Linear, fast and faithful MoDo with M synthetic CTC objectives on one stream (tiny model); fast and
    MoDo also as paired ratios to linear. A mode is skipped once its predicted step time (∝ M from its
    last measured M) exceeds ``max_step_s``. ``peak_mb`` here is the resident high-water mark."""
    out = {"M": list(ms_values), "skipped": {}, "peak_mb": {}, "ratio_fast": [], "ratio_modo": []}
    for mode in GROWTH_MODES:
        out[mode], out["peak_mb"][mode], last = [], [], None
        for m in ms_values:
            r = None
            if last is None or last[1] * m / last[0] <= max_step_s:
                pairs = common["pairs"] * (3 if mode == "fast" else 1)
                r = _spawn(dict(common, model="tiny", mode=mode, objectives=m, tensor_peak=False, pairs=pairs))
                last = (m, r["step_s"])
                log(f"growth {mode:<7} M={m:<3} {r['step_s']:8.3f} s  {r['peak_mb']:8.1f} MB  "
                    f"paired {r.get('ratio_time_paired', 1.0):.3f}x linear")
            else:
                out["skipped"].setdefault(mode, []).append(m)
            out[mode].append(r and r["step_s"])
            out["peak_mb"][mode].append(r and round(r["peak_mb"], 1))
            if mode != "linear":
                out[f"ratio_{mode}"].append(r and r["ratio_time_paired"])
    return out


def run_moo_bench(models=("tiny", "mid"), steps: int = 5, warmup: int = 1, growth: bool = False,
                  device: str = "cpu", quick: bool = False, threads: int = 1, max_step_s: float = 60.0,
                  growth_m: tuple[int, ...] | None = None, log=lambda msg: None, modes=None,
                  hf_path: str | None = None) -> dict:
    """The whole benchmark; returns the JSON-able result (see the module docstring)."""
    if quick:
        models, steps = ["hf" if "hf" in models else "tiny"], 2
    cuts, seconds, growth_cuts = BATCHES["quick" if quick else "full"]
    common = {"steps": steps, "warmup": warmup, "device": device, "threads": threads, "batch_cuts": cuts,
              "seconds": seconds, "pairs": steps}
    if "hf" in models:
        from soups.model.hf import load_hf_config

        common["hf_path"] = hf_path or ms.hf_backbone()
        load_hf_config(common["hf_path"])  # a bad backbone is a one-line error here, not in a worker
    load0 = open("/proc/loadavg").read().split()[:3]
    by_model = {m: bench_model(m, common, log, modes or BENCH_MODES) for m in models}
    first = by_model[models[0]]
    result = {"modes": first["modes"], "model": first["model"], "objectives": len(ms.suite(models[0])),
              "by_model": by_model,
              "device": _device_name(device), "threads": threads, "steps": steps, "warmup": warmup,
              "encoder_forward": {mode: _encoder_forward(ms.make_config("tiny", mode, ms.SUITE))
                                  for mode in first["modes"]}}
    if growth:
        ms_values = tuple(growth_m) if growth_m else GROWTH_M[:2] if quick else GROWTH_M
        gcommon = dict(common, batch_cuts=growth_cuts, steps=min(steps, 3), pairs=min(steps, 3))
        result["growth"] = dict(bench_growth(gcommon, ms_values, max_step_s, log), utterances=growth_cuts,
                                seconds=seconds, model="tiny", streams=1, steps=gcommon["steps"])
    result["loadavg"] = {"start": load0, "end": open("/proc/loadavg").read().split()[:3]}
    return result


def _encoder_forward(cfg) -> str:
    """How a mode's config runs the encoder: ``joint``, ``per_half`` or ``per_stream``."""
    return "joint" if cfg.joint_encoder_forward() else "per_half" if cfg.half_encoder_forward() else "per_stream"


def _device_name(device: str) -> str:
    import platform

    if device == "cuda":
        return torch.cuda.get_device_name()
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores), torch {torch.__version__}"


def summary(result: dict) -> str:
    lines = [f"device: {result['device']}, threads {result['threads']}, load {result['loadavg']}"]
    for name, r in result["by_model"].items():
        m = r["model"]
        lines.append(f"{name}: d={m['d_model']} x{m['num_blocks']} blocks, {m['total_params'] / 1e6:.1f}M params, "
                     f"{m['objectives']} objectives, {m['streams']} streams x {m['utterances_per_stream']} utts")
        for mode, x in r["modes"].items():
            lines.append(f"  {mode:<12} {x['step_s']:8.3f} s ({x['ratio_time']:5.2f}x)  "
                         f"{x['peak_mb']:8.1f} MB ({x['ratio_mem']:5.2f}x)")
    g = result.get("growth")
    if g:
        fmt = lambda xs: " ".join("   -  " if x is None else f"{x:6.2f}" for x in xs)  # noqa: E731
        lines += [f"growth M     {' '.join(f'{m:6d}' for m in g['M'])}"]
        lines += [f"  {mode:<10} {fmt(g[mode])}" for mode in GROWTH_MODES]
        lines += [f"  {k:<10} {fmt(g[k])}  (paired)" for k in ("ratio_fast", "ratio_modo")]
    return "\n".join(lines)


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--worker":
    print(json.dumps(worker(json.loads(sys.argv[2]))))
