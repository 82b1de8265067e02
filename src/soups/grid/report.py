"""``soups report RUNS [--out DIR]``: the paper's tables and figures from a grid's runs.

    soups report runs/grid                                   # -> runs/grid/report/
    soups report runs/grid --out docs/grid --reference VM-UAS --baseline PT+FT --bootstrap 2000

Writes ``report.md`` (everything below, with the problems found), ``report.json`` (all numbers) and:

* ``table1_wer.csv`` / ``table2_bleu.csv`` — per-language ASR WER/CER and X→En BLEU, recipes as columns,
  mean ± std over seeds, best per row bold (Markdown), missing cells "—", "(n=k)" when seeds are missing;
* ``summary.csv`` — Table 5-style averages, change against the baseline, evaluated seeds;
* ``ablation_wer.csv`` / ``ablation_bleu.csv`` — Tables 3–4 (penalty increase rates) when the runs hold VM
  recipes with two or more rates;
* ``significance.csv`` — paired bootstrap of the reference recipe against every other (WER and BLEU);
* ``resources.csv`` — Table 9 (one multi-task model vs single-objective models), from a run of the reference;
* ``radar.png`` (Fig. 1), ``dev_curves.png`` (dev average WER and BLEU against steps, mean over seeds with a
  min–max band: whether the runs converged) and ``curves.png`` (training losses per objective and recipe).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from soups.errors import DataError
from soups.eval.report import MISSING, write_csv
from soups.grid import tables
from soups.grid.collect import all_seeds, by_recipe, collect, phase_logs
from soups.grid.resources import resource_rows


def _md(header: list[str], rows: list[list[str]], notes: list[str] = (), title: str = "") -> str:
    lines = [f"### {title}", ""] if title else []
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines + ([""] + list(notes) if notes else []))


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows([[c.replace("**", "") for c in r] for r in rows])


def _has_values(rows: list[list[str]]) -> bool:
    return any(c != MISSING for r in rows for c in r[1:])


def _comparisons(runs: dict, out: Path, prefix: str, titles: dict) -> list[str]:
    parts = []
    for column, (title, name) in titles.items():
        header, rows, notes = tables.comparison(runs, column)
        if _has_values(rows):
            parts += [_md(header, rows, notes, title), ""]
            write_csv(out / f"{prefix}{name}.csv", runs=runs, metric=column)
    return parts


def _search_notes(runs_dir: Path, cells) -> list[str]:
    notes = []
    for slug, name in dict.fromkeys((c.slug, c.recipe) for c in cells):
        for res in sorted((runs_dir / slug / "weight-search").glob("*/result.json")):
            try:
                r = json.loads(res.read_text())
            except ValueError:
                notes.append(f"{name}: {res} is unreadable")
                continue
            notes.append(f"{name}: phase {r['phase']} uses the weights chosen by dev search "
                         f"{r['weights']['values']} (candidate {r['best'] + 1} of {len(r['candidates'])}, by "
                         f"{r['weights']['by']})")
    return notes


def _significance(names, cells, reference, samples, seed, split) -> tuple[dict, list[str]]:
    from soups.grid.significance import KIND_METRICS, compare_recipes

    if reference not in names:
        return {}, [f"reference recipe {reference!r} not in the runs: no significance tests"]
    ref_cells = [c for c in cells if c.recipe == reference]
    metrics = {o.get("metric") for c in cells if c.ok for o in c.results.get("objectives", {}).values()}
    kinds = [k for k, ms in KIND_METRICS.items() if metrics & set(ms)]   # e.g. no BLEU rows without translation
    tests = {}
    for name in names:
        if name != reference:
            base = [c for c in cells if c.recipe == name]
            tests[name] = {k: compare_recipes(ref_cells, base, k, samples, seed, split) for k in kinds}
    return tests, []


def _resources(cells, reference: str) -> tuple[dict | None, str | None]:
    from soups.grid.resources import measure_resources

    pick = [c for c in cells if c.ok and c.recipe == reference] or [c for c in cells if c.ok]
    if not pick:
        return None, "no evaluated run to measure"
    try:
        return measure_resources(pick[0].dir), None
    except Exception as err:  # noqa: BLE001 — a report section, not the report, fails
        return None, f"{pick[0].dir}: {type(err).__name__}: {err}"


def _figures(names, cells, runs, out: Path) -> list[str]:
    from soups.grid import plots

    plots.radar(tables.mean_values(runs, "wer"), tables.mean_values(runs, "bleu"), out / "radar.png")
    series = {}
    for name in names:
        per_seed = [plots.phase_series(phase_logs(c.dir)) for c in cells if c.recipe == name and c.ok]
        series[name] = plots.mean_series([s for s in per_seed if s])
    plots.training_curves(series, out / "curves.png")
    dev = {}
    for name in names:
        per_seed = [plots.phase_series(phase_logs(c.dir), "dev/") for c in cells if c.recipe == name and c.ok]
        dev[name] = plots.band_series([s for s in per_seed if s])
    plots.dev_curves(dev, out / "dev_curves.png")
    return ["![radar](radar.png)", "", "![dev curves: mean over seeds, band min-max](dev_curves.png)", "",
            "![training curves](curves.png)"]


def write_report(runs_dir: str | Path, out: str | Path | None = None, reference: str = "VM-UAS",
                 baseline: str = "PT+FT", samples: int = 1000, seed: int = 0, resources: bool = True,
                 split: str = "test") -> dict:
    """Write the report (see the module docstring); returns what ``report.json`` holds."""
    runs_dir = Path(runs_dir)
    names, cells = collect(runs_dir, split)
    if not cells:
        raise DataError("no grid runs found (expected RUNS/<recipe>/seed<N>/)", path=runs_dir)
    out = Path(out) if out is not None else runs_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    seeds = all_seeds(cells)
    runs = by_recipe(names, cells, seeds)
    problems = [f"{c.recipe} seed {c.seed}: {c.problem}" for c in cells if c.problem]
    md = [f"# Grid report: {runs_dir}", "", f"Recipes: {', '.join(names)}; seeds: {seeds}; split: {split}."]
    md += ["", "## Missing or unusable runs", ""] + ([f"- {p}" for p in problems] or ["none"])
    md += ["", "## Per-language results (Tables 1–2)", ""]
    md += _comparisons(runs, out, "", {"wer": ("Table 1 — ASR WER/CER (%)", "table1_wer"),
                                       "bleu": ("Table 2 — ST BLEU (X→En)", "table2_bleu"),
                                       "accuracy": ("Gender accuracy (%)", "table_accuracy")})
    header, rows, notes = tables.summary_rows(runs, baseline)
    _csv(out / "summary.csv", header, rows)
    md += ["", _md(header, rows, notes + _search_notes(runs_dir, cells), "Summary (Table 5 style)")]
    rates = {c.recipe: tables.penalty_rate(c.cfg) for c in cells if c.cfg is not None}
    ablation = tables.ablation_runs(runs, rates, baseline)
    if ablation:
        md += ["", "## Penalty increase rate (Tables 3–4)", ""]
        md += _comparisons(ablation, out, "ablation_", {"wer": ("Table 3 — ASR WER/CER (%)", "wer"),
                                                        "bleu": ("Table 4 — ST BLEU (X→En)", "bleu")})
    tests, sig_notes = _significance(names, cells, reference, samples, seed, split)
    md += ["", f"## Significance: {reference} against each baseline", ""] + sig_notes
    if tests:
        header, rows, notes = tables.significance_rows(reference, tests)
        _csv(out / "significance.csv", header, rows)
        md += [_md(header, rows, notes + [f"{samples} bootstrap samples, seed {seed}."])]
    res = None
    if resources:
        res, why = _resources(cells, reference)
        md += ["", "## Deployment resources (Table 9)", ""]
        if res is None:
            md.append(f"not measured: {why}")
        else:
            header, rows = resource_rows(res)
            _csv(out / "resources.csv", header, rows)
            md += [_md(header, rows, [f"measured on {res['run']}; single-objective models: "
                                      f"{', '.join(res['objectives'])} (fresh weights, same config)."])]
    md += ["", "## Figures", ""] + _figures(names, cells, runs, out)
    (out / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    data = {"recipes": names, "seeds": seeds, "problems": problems, "significance": tests, "resources": res,
            "runs": {n: [r if r.get("objectives") else None for r in v] for n, v in runs.items()}}
    (out / "report.json").write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str))
    return data
