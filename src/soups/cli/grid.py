"""``soups grid``, ``soups report``, ``soups conflicts``, ``soups suggest-hierarchy``: the paper's comparison.

Examples::

    soups grid configs/grid/paper.yaml --seeds 3 --out runs/grid --dry-run     # plan + every config checked
    soups grid configs/grid/paper.yaml --seeds 3 --out runs/grid               # run; again to resume/skip
    soups grid configs/grid/paper.yaml --seeds 0,1 --out runs/grid --recipes "VS,VM-UAS"
    soups report runs/grid [--out runs/grid/report] [--reference VM-UAS] [--baseline PT+FT] [--bootstrap 1000]
    soups conflicts runs/grid/VS/seed0 --steps 50 --out runs/conflicts [--checkpoint best|latest|all|PATH]
        [--statistic accumulated|per_step]
    soups conflicts configs/demo.yaml --steps 20 --out runs/conflicts-init data.dir=data/synthetic-small
    soups suggest-hierarchy runs/conflicts [--config configs/demo.yaml] [--threshold 0] [--prefer asr|st]
"""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("grid", help="run recipes x seeds (the paper's comparison), resumable")
    p.add_argument("grid", help="grid YAML file (see configs/grid/paper.yaml)")
    p.add_argument("--seeds", default="3", help="a count (3: seeds 0,1,2) or a list (0,5,7); default 3")
    p.add_argument("--out", required=True, help="output folder: RUNS/<recipe>/seed<N>/")
    p.add_argument("--recipes", default=None, help="comma-separated subset of the grid's recipe names")
    p.add_argument("--dry-run", action="store_true", help="print the plan (configs checked), train nothing")
    p.add_argument("--progress", action="store_true", help="progress bars while training")
    p.set_defaults(func=run_grid)

    p = sub.add_parser("report", help="tables, significance tests and figures from a grid's runs")
    p.add_argument("runs", help="the grid's output folder")
    p.add_argument("--out", default=None, help="report folder (default: RUNS/report)")
    p.add_argument("--reference", default="VM-UAS", help="recipe tested against every other (default VM-UAS)")
    p.add_argument("--baseline", default="PT+FT", help="recipe for relative changes (default PT+FT)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap samples (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--split", default="test", help="evaluation split read from EXP/eval/<split> (default test)")
    p.add_argument("--no-resources", action="store_true", help="skip the Table 9 measurement")
    p.set_defaults(func=run_report)

    p = sub.add_parser("conflicts", help="measure per-objective gradient cosines (no training)")
    p.add_argument("source", help="an experiment folder (trained) or a config YAML (initialisation)")
    p.add_argument("--steps", type=int, required=True, help="batches to average over")
    p.add_argument("--out", required=True, help="output folder (conflicts.json and figures)")
    p.add_argument("--checkpoint", default=None, help="best (default) | latest | all | a checkpoint path")
    p.add_argument("--no-plots", action="store_true", help="only conflicts.json")
    p.add_argument("--statistic", default="accumulated", choices=("accumulated", "per_step"),
                   help="accumulated: cosine of the gradients summed over the steps (the paper's, default); "
                        "per_step: mean of the steps' cosines")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides (with a CONFIG)")
    p.set_defaults(func=run_conflicts)

    p = sub.add_parser("suggest-hierarchy", help="VM-MSP levels from measured conflicts (soups conflicts)")
    p.add_argument("dir", help="output folder of soups conflicts (holds conflicts.json)")
    p.add_argument("--config", default=None, help="a base config: also write it with the suggested hierarchy")
    p.add_argument("--threshold", type=float, default=0.0, help="conflict if cosine < this (default 0)")
    p.add_argument("--prefer", choices=["asr", "st"], default="asr",
                   help="which task's level comes first (asr: UAS-like, st: USA-like)")
    p.add_argument("--out", default=None, help="where to write (default: DIR)")
    p.set_defaults(func=run_suggest)


def run_grid(args) -> int:
    from soups.grid.recipes import load_grid
    from soups.grid.runner import parse_seeds
    from soups.grid.runner import run_grid as run

    grid = load_grid(args.grid)
    recipes = [r.strip() for r in args.recipes.split(",") if r.strip()] if args.recipes else None
    results = run(grid, parse_seeds(args.seeds), args.out, recipes, args.dry_run, args.progress,
                  echo=lambda s: print(s, flush=True))
    return 1 if any(r.status == "failed" for r in results) else 0


def run_report(args) -> int:
    from soups.grid.report import write_report

    out = args.out or f"{args.runs.rstrip('/')}/report"
    data = write_report(args.runs, out, args.reference, args.baseline, args.bootstrap, args.seed,
                        not args.no_resources, args.split)
    for problem in data["problems"]:
        print(f"missing: {problem}")
    print(f"wrote {out}/report.md")
    return 0


def run_conflicts(args) -> int:
    from soups.grid.conflicts import run_conflicts as run

    run(args.source, args.steps, args.out, args.checkpoint, args.overrides, not args.no_plots,
        echo=lambda s: print(s, flush=True), statistic=args.statistic)
    print(f"wrote {args.out}/conflicts.json")
    return 0


def run_suggest(args) -> int:
    from soups.grid.suggest import write_suggestion

    s = write_suggestion(args.dir, args.config, args.out, args.threshold, args.prefer)
    return 0 if s.levels else 1
