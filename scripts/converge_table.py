"""The seed table of docs/results.md from a grid's run folder: per recipe and seed, steps trained (of the
schedule), test WER/BLEU, the dev curve over the last third of training (start → end, and the largest move
between any two of its points) and the median step time.

    python scripts/converge_table.py runs/grid-converge --seed 0 > /tmp/table.md
    python scripts/converge_table.py runs/grid-converge --seeds 0,1,2    # mean ± std over the finished seeds
    python scripts/converge_table.py runs/backbones/conformer --seeds 0,1,2 --curves   # + mean dev curves
    python scripts/converge_table.py runs/grid-converge --seeds 0,1,2 --report docs/results/converge/report.json

The ``--seeds`` table counts only finished cells that trained their whole schedule (a cut or running cell is
listed as such, never averaged in); ``--curves`` adds each recipe's dev WER / BLEU at every evaluation, the
mean over those seeds; ``--report`` fills the seeds that have no cell in the folder with the per-run test
averages an earlier ``soups report`` recorded (``report.json``), e.g. when the folder holds only the cells of
a later sitting.

A multi-phase recipe (PT+FT) reports its last phase (trained in the cell folder; ``phases/`` holds the earlier
ones). Reads only what the grid wrote: ``cell.json``, ``log.jsonl`` and ``config.yaml``. A folder of plain
experiments laid out the same way (``RECIPE/seedK``, no ``grid.json``) works too: a cell without ``cell.json``
is finished when ``soups eval EXP --split test`` wrote ``eval/test/results.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import yaml


def last_phase(cell: Path) -> Path:
    """The grid trains a recipe's last phase in the cell folder itself; ``phases/`` holds the earlier ones."""
    if (cell / "log.jsonl").is_file():
        return cell
    phases = sorted((cell / "phases").glob("*")) if (cell / "phases").is_dir() else []
    return phases[-1] if phases else cell


def dev_points(exp: Path) -> list[tuple[int, float, float]]:
    rows = [json.loads(line) for line in (exp / "log.jsonl").read_text().splitlines() if '"dev/average_wer"' in line]
    return [(int(r["step"]), r["dev/average_wer"], r["dev/average_bleu"]) for r in rows]


def step_seconds(exp: Path) -> float | None:
    log = exp / "train.log"
    times = [float(line.rsplit("|", 1)[1].split()[0]) for line in log.read_text().splitlines()
             if line.startswith("step ") and "s/step" in line] if log.is_file() else []
    return statistics.median(times) if times else None


def cell_info(cell: Path) -> dict | None:
    """The grid's ``cell.json``; for a plain experiment, the same fields from its test evaluation."""
    if (cell / "cell.json").is_file():
        return json.loads((cell / "cell.json").read_text())
    if not (cell / "config.yaml").is_file():
        return None
    results = cell / "eval" / "test" / "results.json"
    if not results.is_file():
        return {"recipe": cell.parent.name, "status": "not evaluated"}
    return {"recipe": cell.parent.name, "status": "done", "test_average": json.loads(results.read_text())["average"]}


def row(grid: Path, recipe_dir: Path, seed: int) -> str | None:
    cell = recipe_dir / f"seed{seed}"
    info = cell_info(cell)
    if info is None:
        return None
    if info.get("status") != "done":
        return f"| {info['recipe']} | ({info.get('status')}) | | | | |"
    exp = last_phase(cell)
    max_steps = yaml.safe_load((exp / "config.yaml").read_text())["train"]["max_steps"]
    points = dev_points(exp)
    trained = points[-1][0] if points else 0
    third = [p for p in points if p[0] >= trained - (max_steps // 3)]
    test = info.get("test_average") or {}
    if third:
        moves = (max(p[1] for p in third) - min(p[1] for p in third), max(p[2] for p in third) - min(p[2] for p in third))
        curve = (f"{third[0][1]:.1f}/{third[0][2]:.1f} → {third[-1][1]:.1f}/{third[-1][2]:.1f} "
                 f"(steps {third[0][0]}–{third[-1][0]}; range {moves[0]:.1f}/{moves[1]:.1f})")
    else:
        curve = "—"
    cut = "" if trained >= max_steps else " (**cut**)"
    secs = step_seconds(exp)
    return (f"| {info['recipe']} | {trained} of {max_steps}{cut} | {test.get('wer', float('nan')):.1f} | "
            f"{test.get('bleu', float('nan')):.1f} | {curve} | {'—' if secs is None else f'{secs:.2f}'} |")


def finished(cell: Path) -> dict | None:
    """The test averages of a finished cell that trained its whole schedule, else None."""
    info = cell_info(cell)
    if info is None or info.get("status") != "done" or not info.get("test_average"):
        return None
    exp = last_phase(cell)
    max_steps = yaml.safe_load((exp / "config.yaml").read_text())["train"]["max_steps"]
    points = dev_points(exp)
    return info["test_average"] if points and points[-1][0] >= max_steps else None


def mean_std(values: list[float]) -> str:
    return f"{statistics.fmean(values):.1f}" + (f" ± {statistics.stdev(values):.1f}" if len(values) > 1 else "")


def seed_results(recipe_dir: Path, seeds: list[int]) -> tuple[str | None, dict[int, dict | str]]:
    """(recipe name, {seed: the test averages of a cell that finished its schedule, else its status})."""
    infos = {s: cell_info(recipe_dir / f"seed{s}") for s in seeds}
    present = {s: info for s, info in infos.items() if info is not None}
    if not present:
        return None, {}
    out: dict[int, dict | str] = {}
    for s, info in present.items():
        done = finished(recipe_dir / f"seed{s}")
        out[s] = done or ("cut" if info.get("status") == "done" else str(info.get("status")))
    return present[next(iter(present))]["recipe"], out


def recorded_runs(report: Path) -> dict[str, dict[int, dict]]:
    """``soups report``'s ``report.json``: {recipe: {seed: test averages}} of the runs it was made from."""
    data = json.loads(report.read_text())
    return {name: {seed: run["average"] for seed, run in zip(data["seeds"], runs) if run}
            for name, runs in data["runs"].items()}


def seeds_row(name: str, seeds: list[int], results: dict[int, dict | str]) -> str:
    """Mean ± std (sample std) over the seeds that finished their schedule, and each seed's pair."""
    ok = {s: t for s, t in results.items() if isinstance(t, dict)}
    each = ", ".join(f"{t['wer']:.1f}/{t['bleu']:.1f}" if isinstance(t, dict) else f"({t})"
                     for _, t in sorted(results.items()))
    if not ok:
        return f"| {name} | 0 of {len(seeds)} | | | {each} |"
    return (f"| {name} | {len(ok)} of {len(seeds)} | {mean_std([t['wer'] for t in ok.values()])} | "
            f"{mean_std([t['bleu'] for t in ok.values()])} | {each} |")


def seeds_table(dirs: list[Path], seeds: list[int], report: Path | None) -> list[str]:
    """One row per recipe: the cells in ``dirs``, and (``--report``) the runs an earlier report recorded for
    seeds that have no cell here (a cell here wins)."""
    rows: dict[str, dict[int, dict | str]] = {}
    for d in dirs:
        name, results = seed_results(d, seeds)
        if name is not None:
            rows[name] = results
    for name, by_seed in (recorded_runs(report) if report else {}).items():
        merged = rows.setdefault(name, {})
        for seed in seeds:
            if seed in by_seed and seed not in merged:
                merged[seed] = by_seed[seed]
    return [seeds_row(name, seeds, results) for name, results in rows.items() if results]


def mean_curve(recipe_dir: Path, seeds: list[int]) -> tuple[int, dict[int, tuple[float, float]]]:
    """(seeds averaged, {step: (mean dev WER, mean dev BLEU)}) over the finished seeds, at the steps they share."""
    cells = [recipe_dir / f"seed{s}" for s in seeds]
    curves = [{p[0]: p[1:] for p in dev_points(last_phase(c))} for c in cells if finished(c)]
    if not curves:
        return 0, {}
    steps = sorted(set.intersection(*(set(c) for c in curves)))
    return len(curves), {k: (statistics.fmean(c[k][0] for c in curves), statistics.fmean(c[k][1] for c in curves))
                         for k in steps}


def print_curves(dirs: list[Path], seeds: list[int]) -> None:
    rows = [(d.name, *mean_curve(d, seeds)) for d in dirs]
    steps = sorted({k for _, _, curve in rows for k in curve})
    print("\n| dev WER / BLEU at step (mean over seeds) | " + " | ".join(map(str, steps)) + " |")
    print("|---|" + "---|" * len(steps))
    for name, n, curve in rows:
        if n:
            print(f"| {name} ({n} seeds) | " + " | ".join(f"{curve[k][0]:.1f} / {curve[k][1]:.1f}" if k in curve
                                                         else "" for k in steps) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("grid", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", default=None, help="comma-separated seeds: one row per recipe, mean ± std")
    ap.add_argument("--curves", action="store_true", help="with --seeds: the mean dev curves too")
    ap.add_argument("--report", type=Path, default=None,
                    help="with --seeds: a report.json whose recorded runs fill the seeds without a cell here")
    args = ap.parse_args()
    index = args.grid / "grid.json"
    order = [r["slug"] for r in json.loads(index.read_text())["recipes"]] if index.is_file() else []
    dirs = [args.grid / s for s in order] + sorted(d for d in args.grid.iterdir() if d.is_dir() and d.name not in order)
    if args.seeds:
        seeds = [int(x) for x in args.seeds.split(",")]
        print("| recipe | seeds finished | test WER (%) | test BLEU | per seed (WER/BLEU) |")
        print("|---|---:|---:|---:|---|")
        for line in seeds_table(dirs, seeds, args.report):
            print(line)
        if args.curves:
            print_curves(dirs, seeds)
        return
    print("| recipe | steps trained | test WER (%) | test BLEU | dev WER / BLEU, last third (start → end; range) "
          "| step (s), median |")
    print("|---|---:|---:|---:|---|---:|")
    for d in dirs:
        line = row(args.grid, d, args.seed)
        if line:
            print(line)


if __name__ == "__main__":
    main()
