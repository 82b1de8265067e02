"""``soups bench dist --json``: 1 vs 2 CPU processes (gloo) on the same global batch, per MOO mode and
parallelism: how far the 2-process weights and MoDo λ are from the single process, step times, and bytes
each rank sends per step.

    soups bench dist --json                       # builds the tiny built-in corpus in a temporary folder
    soups bench dist --corpus data/synthetic-tiny --steps 5 --precision float32 --json

With ``--precision float64`` (default) the differences measure the algorithm (they are ~1e-12); in
float32 they also include rounding, amplified by Adam.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

MODES = {
    "linear": ["moo.mode=linear"],
    "modo": ["moo.mode=faithful", "moo.hierarchy={formulation: vs, weighting: modo}"],
    "fast": ["moo.mode=fast", "moo.hierarchy={formulation: vm, levels: uas, weighting: modo}"],
    "modo_layers": ["moo.mode=layers", "moo.hierarchy={formulation: vs, weighting: modo}",
                    "moo.layers.refresh_every=2"],
}
SMALL = ["model.encoder={d_model: 64, num_blocks: 2, num_heads: 2, subsampling_channels: 16, dropout: 0.0}",
         "model.decoder={num_layers: 1, num_heads: 2, ff_dim: 128, dropout: 0.0}", "model.ssl={num_codes: 128}",
         "tokenizers.asr={kind: spm, vocab_size: 80}", "tokenizers.st={kind: spm, vocab_size: 80}",
         "data.batch_cuts=8", "data.dev_utterances=1", "train.warmup_steps=1", "train.log_every=1",
         "train.threads=1"]
OBJECTIVES = [{"name": "asr_en", "task": "asr", "lang": "en"}, {"name": "asr_fr", "task": "asr", "lang": "fr"},
              {"name": "st_fr_en", "task": "st", "lang": "fr"}, {"name": "asr_de", "task": "asr", "lang": "de"},
              {"name": "st_de_en", "task": "st", "lang": "de"}, {"name": "ssl", "task": "ssl", "head": "bestrq"}]


def _train(cfg: Path, out: Path, nproc: int, overrides: list[str]) -> None:
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
                if nproc > 1 else [sys.executable])
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([*launcher, "-m", "soups", "train", str(cfg), "--out", str(out), "--no-progress",
                           *overrides], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"training failed ({out}):\n{proc.stderr[-3000:]}")


def _records(exp: Path) -> list[dict]:
    return [r for r in map(json.loads, (exp / "log.jsonl").read_text().splitlines()) if "grad_norm" in r]


def _compare(one: Path, two: Path) -> dict:
    from soups.train.checkpoint import load_checkpoint

    a = load_checkpoint(sorted((one / "checkpoints").glob("ckpt-*.pt"))[-1])["model"]
    b = load_checkpoint(sorted((two / "checkpoints").glob("ckpt-*.pt"))[-1])["model"]
    ra, rb = _records(one), _records(two)
    lam = [abs(x[k] - y[k]) for x, y in zip(ra, rb) for k in x if k.startswith("lambda/")]
    comm = [r["comm_bytes"] for r in rb]
    return {"max_abs_weight_diff_vs_single": max(float((a[k].double() - b[k].double()).abs().max()) for k in a),
            "max_abs_lambda_diff_vs_single": max(lam) if lam else 0.0,
            "step_s_single": _median([r["step_s"] for r in ra[1:]]),
            "step_s_two": _median([r["step_s"] for r in rb[1:]]),
            "bytes_per_step": (comm[-1] - comm[0]) / max(1, len(comm) - 1)}


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else float("nan")


def run(corpus: str | None = None, steps: int = 4, precision: str = "float64", modes=tuple(MODES),
        parallel=("data", "objective")) -> dict:
    work = Path(tempfile.mkdtemp(prefix="soups-bench-dist-"))
    if corpus is None:
        from soups.data.feature_store import compute_features
        from soups.data.prepare import prepare_synthetic

        corpus = str(work / "corpus")
        prepare_synthetic(corpus, "tiny", 0, ("en", "fr", "de"))
        compute_features(corpus)
    cfg = work / "bench.yaml"
    cfg.write_text(yaml.safe_dump({"data": {"dir": corpus}, "objectives": OBJECTIVES}))
    common = [*SMALL, f"train.max_steps={steps}", f"train.precision={precision}"]
    results: dict = {}
    for mode in modes:
        _train(cfg, work / f"{mode}-1", 1, [*common, *MODES[mode]])
        for par in parallel:
            two = work / f"{mode}-2-{par}"
            _train(cfg, two, 2, [*common, *MODES[mode], f"train.parallel={par}"])
            results.setdefault(mode, {})[par] = _compare(work / f"{mode}-1", two)
    worst = lambda key: max(r[key] for m in results.values() for r in m.values())  # noqa: E731
    return {"max_abs_weight_diff_vs_single": worst("max_abs_weight_diff_vs_single"),
            "max_abs_lambda_diff_vs_single": worst("max_abs_lambda_diff_vs_single"),
            "modes": results, "steps": steps, "precision": precision, "processes": [1, 2], "backend": "gloo",
            "objectives": [o["name"] for o in OBJECTIVES], "work_dir": str(work)}


def main(args) -> int:
    out = run(args.corpus, args.steps, args.precision)
    print(json.dumps(out, indent=None if args.json else 1))
    return 0
