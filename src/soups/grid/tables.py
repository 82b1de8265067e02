"""Tables of a grid report beyond :mod:`soups.eval.report`'s per-language comparison (Tables 1–2):
a Table 5-style summary, the penalty-rate ablation (Tables 3–4) and the significance table.

Cells are "mean ± std" over seeds (sample std), "(n=k)" when seeds are missing, "—" when nothing is there;
the best cell of a row is bold when at least two recipes have a value.
"""

from __future__ import annotations

import statistics

from soups.eval.report import MISSING, comparison_rows
from soups.eval.metrics import ASR_TASKS, TRANSLATION_TASKS

Table = tuple[list[str], list[list[str]], list[str]]


def seed_average(results: dict, column: str) -> float | None:
    """A run's mean over its ASR objectives (``wer``, CER ones included) or translation objectives (``bleu``)."""
    tasks = ASR_TASKS if column == "wer" else TRANSLATION_TASKS
    vals = [o["value"] for o in results.get("objectives", {}).values()
            if o.get("task") in tasks and isinstance(o.get("value"), (int, float)) and not isinstance(o["value"], bool)]
    return statistics.fmean(vals) if vals else None


def mean_values(runs: dict[str, list[dict]], column: str) -> dict[str, dict[str, float]]:
    """``{recipe: {language: mean over seeds}}`` of one column (for the radar plots)."""
    tasks = ASR_TASKS if column == "wer" else TRANSLATION_TASKS
    out = {}
    for recipe, seeds in runs.items():
        per_lang: dict[str, list[float]] = {}
        for res in seeds:
            for o in res.get("objectives", {}).values():
                if o.get("task") in tasks and isinstance(o.get("value"), (int, float)):
                    per_lang.setdefault(str(o.get("language")), []).append(float(o["value"]))
        out[recipe] = {lang: statistics.fmean(v) for lang, v in per_lang.items()}
    return out


def _cell(values: list[float], n: int) -> str:
    if not values:
        return MISSING
    text = f"{statistics.fmean(values):.2f}" + (f" ± {statistics.stdev(values):.2f}" if len(values) > 1 else "")
    return text + (f" (n={len(values)})" if len(values) < n else "")


def _bold_best(cells: list[str], means: list[float | None], lower: bool) -> list[str]:
    present = [round(m, 2) for m in means if m is not None]
    if len(present) < 2:
        return cells
    best = min(present) if lower else max(present)
    return [f"**{c}**" if m is not None and round(m, 2) == best else c for c, m in zip(cells, means)]


def summary_rows(runs: dict[str, list[dict]], baseline: str | None = "PT+FT") -> Table:
    """Table 5-style summary: recipes as columns; average WER and BLEU (mean ± std over seeds), the relative
    change against ``baseline`` (positive = better) and the number of evaluated seeds."""
    recipes = list(runs)
    rows, notes = [], []
    means: dict[str, dict[str, float | None]] = {}
    for column, label, lower in (("wer", "ASR average WER/CER (%)", True), ("bleu", "ST average BLEU", False)):
        vals = {r: [v for v in (seed_average(s, column) for s in runs[r]) if v is not None] for r in recipes}
        means[column] = {r: statistics.fmean(v) if v else None for r, v in vals.items()}
        if not any(vals.values()):
            continue
        cells = [_cell(vals[r], len(runs[r])) for r in recipes]
        rows.append([label] + _bold_best(cells, [means[column][r] for r in recipes], lower))
        base = means[column].get(baseline) if baseline else None
        if base:
            rel = [None if means[column][r] is None else
                   100 * ((base - means[column][r]) if lower else (means[column][r] - base)) / base for r in recipes]
            rows.append([f"{column.upper()} change vs {baseline} (%, + = better)"]
                        + [MISSING if v is None else f"{v:+.1f}" for v in rel])
    if baseline and baseline not in runs:
        notes.append(f"baseline {baseline!r} not in the runs: no relative changes")
    rows.append(["evaluated seeds"] + [f"{sum(bool(s.get('objectives')) for s in runs[r])}/{len(runs[r])}"
                                       for r in recipes])
    return ["", *recipes], rows, notes


def penalty_rate(cfg) -> float | None:
    """The increase rate of a VM run's penalties (the paper's default 0.02 when not configured); None if
    the run is not VM-MSP or its levels use different rates."""
    h = cfg.moo.hierarchy or {}
    if str(h.get("formulation", "vs")).lower() != "vm":
        return None
    pens = h.get("penalties")
    rates = {0.02} if not pens else {float(p.get("increase", 0.02)) for p in pens}
    return rates.pop() if len(rates) == 1 else None


def ablation_runs(runs: dict[str, list[dict]], rates: dict[str, float | None], baseline: str = "PT+FT"
                  ) -> dict[str, list[dict]] | None:
    """Tables 3–4: the baseline and every VM recipe, labelled with its increase rate — only when the runs
    hold VM recipes with at least two different rates."""
    vm = {r: rate for r, rate in rates.items() if rate is not None and r in runs}
    if len(set(vm.values())) < 2:
        return None
    out = {baseline: runs[baseline]} if baseline in runs else {}
    for r, rate in sorted(vm.items(), key=lambda kv: (-kv[1], list(runs).index(kv[0]))):
        out[r if "IR=" in r else f"{r} (IR={rate:g})"] = runs[r]
    return out


def significance_rows(reference: str, tests: dict[str, dict]) -> Table:
    """One row per (baseline, metric): values, Δ = reference − baseline, 95 % interval, p, sample size."""
    header = ["Baseline", "Metric", reference, "Baseline value", "Δ (ref − base)", "95% CI of Δ", "p", "seeds",
              "utterances"]
    rows, notes = [], []
    for baseline, by_metric in tests.items():
        for metric, (res, why) in by_metric.items():
            label = "WER/CER (%)" if metric == "wer" else "BLEU"
            if res is None:
                rows.append([baseline, label] + [MISSING] * 7)
                notes += [f"{baseline} {label}: {n}" for n in why]
                continue
            rows.append([baseline, label, f"{res['a']:.2f}", f"{res['b']:.2f}", f"{res['delta']:+.2f}",
                         f"[{res['ci95'][0]:+.2f}, {res['ci95'][1]:+.2f}]", f"{res['p']:.4f}",
                         ",".join(map(str, res["seeds"])), str(res["utterances"])])
            notes += [f"{baseline} {label}: {n}" for n in why]
    notes.append(f"p: one-sided paired bootstrap (H0: {reference} is not better), ties counted half; values on the "
                 "utterances pooled over the common seeds, averaged over objectives (languages).")
    return header, rows, notes


def comparison(runs: dict[str, list[dict]], column: str) -> Table:
    return comparison_rows(runs, column)
