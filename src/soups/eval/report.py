"""Result tables shaped like the paper's Tables 1–2: Markdown for reports, CSV for spreadsheets.

A *results dict* is what an evaluation writes::

    {"objectives": {"asr_fr": {"task": "asr", "language": "fr", "metric": "wer", "value": 21.3},
                    "st_fr":  {"task": "st",  "language": "fr", "metric": "bleu", "value": 27.9, ...}},
     "average": {...}}                          # ignored here: averages are recomputed from values

One row per language (paper order ``en fr de es ca zh``, then others), an "Average" row, and columns
"ASR WER (%)" (CER cells marked "(CER)"), "ST BLEU (X→En)" ("–" where a language has no such
objective, e.g. English) and one column per other (task, metric), e.g. "gender accuracy".
Objectives without a numeric ``value`` (self-supervised losses, say) are left out.

>>> res = {"objectives": {"a": {"task": "asr", "language": "fr", "metric": "wer", "value": 20.0},
...                       "b": {"task": "asr", "language": "en", "metric": "wer", "value": 10.0},
...                       "c": {"task": "st", "language": "fr", "metric": "bleu", "value": 30.0}}}
>>> print(markdown_table(res))
| Language | ASR WER (%) | ST BLEU (X→En) |
|---|---|---|
| en | 10.00 | – |
| fr | 20.00 | 30.00 |
| Average | 15.00 | 30.00 |
"""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

from soups.data.languages import ALL_LANGS
from soups.eval.metrics import ASR_TASKS, TRANSLATION_TASKS

NO_OBJECTIVE = "–"  # markdown_table: the language has no such objective
MISSING = "—"  # comparison_table: a recipe has no value for this cell
ASR_HEADER, ST_HEADER = "ASR WER (%)", "ST BLEU (X→En)"
HIGHER_IS_BETTER = frozenset({"bleu", "chrf", "accuracy", "acc", "f1"})
Table = tuple[list[str], list[list[str]], list[str]]  # header, rows, notes


def _column(obj: dict) -> str:
    """The column an objective belongs to (``"wer"``, ``"bleu"`` or its own metric name)."""
    if obj.get("task") in ASR_TASKS:
        return "wer"
    if obj.get("task") in TRANSLATION_TASKS:
        return "bleu"
    return str(obj.get("metric"))


def _header(column: str, objs: list[dict]) -> str:
    if column == "wer":
        return ASR_HEADER
    if column == "bleu":
        return ST_HEADER
    return f"{objs[0].get('task')} {column}"


def _scored(results: dict) -> list[tuple[str, dict]]:
    """(name, objective) pairs that carry a finite numeric value."""
    out = []
    for name, obj in results.get("objectives", {}).items():
        value = obj.get("value")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out.append((name, obj))
    return out


def _lang_order(langs) -> list[str]:
    seen = list(dict.fromkeys(langs))
    return [lang for lang in ALL_LANGS if lang in seen] + [lang for lang in seen if lang not in ALL_LANGS]


def _cells(results: dict, column: str) -> dict[str, tuple[float, str]]:
    """language -> (value, metric) for one column; two objectives in one cell are an error."""
    cells: dict[str, tuple[float, str]] = {}
    owner: dict[str, str] = {}
    for name, obj in _scored(results):
        if _column(obj) != column:
            continue
        lang = str(obj.get("language") or "all")
        if lang in cells:
            raise ValueError(f"objectives {owner[lang]!r} and {name!r} both fill column {column!r} for {lang!r}")
        cells[lang], owner[lang] = (float(obj["value"]), str(obj.get("metric"))), name
    return cells


def _fmt(value: float, metric: str = "") -> str:
    return f"{value:.2f}" + (" (CER)" if metric == "cer" else "")


def results_table(results: dict) -> Table:
    """The cells of :func:`markdown_table` (header, rows, notes), all strings."""
    scored = _scored(results)
    columns = list(dict.fromkeys(["wer", "bleu"] + [_column(o) for _, o in scored]))
    columns = [c for c in columns if any(_column(o) == c for _, o in scored)]
    cells = {c: _cells(results, c) for c in columns}
    langs = _lang_order(str(o.get("language") or "all") for _, o in scored)
    header = ["Language"] + [_header(c, [o for _, o in scored if _column(o) == c]) for c in columns]
    rows = [[lang] + [_fmt(*cells[c][lang]) if lang in cells[c] else NO_OBJECTIVE for c in columns]
            for lang in langs]
    rows.append(["Average"] + [_fmt(statistics.fmean(v for v, _ in cells[c].values())) for c in columns])
    notes = []
    training = results.get("training") or {}
    if training.get("cut"):
        notes.append(f"**Training was cut at step {training['steps']} of {training['max_steps']}** (train.max_minutes "
                     "or an interrupted run): this model did not finish its schedule.")
    metrics_in_asr = {m for _, m in cells.get("wer", {}).values()}
    if "cer" in metrics_in_asr:
        notes.append("(CER): character error rate" + (", included in the ASR average" if len(metrics_in_asr) > 1
                                                       else ""))
    return header, rows, notes


def _markdown(header: list[str], rows: list[list[str]], notes: list[str], title: str = "") -> str:
    lines = [f"**{title}**", ""] if title else []
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    if notes:
        lines += [""] + notes
    return "\n".join(lines)


def side_by_side(decodings: dict[str, dict], title: str = "") -> str:
    """Several decodings of one model in one table: every column of :func:`results_table` once per decoding,
    labelled (``{"beam + LM": res, "greedy": res2}`` -> "ASR WER (%), beam + LM", "ASR WER (%), greedy", …).

    >>> r = lambda v: {"objectives": {"a": {"task": "asr", "language": "fr", "metric": "wer", "value": v}}}
    >>> print(side_by_side({"lm": r(5.0), "greedy": r(9.0)}).splitlines()[0])
    | Language | ASR WER (%), lm | ASR WER (%), greedy |
    """
    tables = {label: results_table(res) for label, res in decodings.items()}
    header, rows, _ = next(iter(tables.values()))
    for label, (h, r, _) in tables.items():
        if h != header or [x[0] for x in r] != [x[0] for x in rows]:
            raise ValueError(f"decoding {label!r} has other objectives than the first one")
    out_header = ["Language"] + [f"{col}, {label}" for col in header[1:] for label in tables]
    out_rows = [[row[0]] + [tables[label][1][i][c] for c in range(1, len(header)) for label in tables]
                for i, row in enumerate(rows)]
    notes = list(dict.fromkeys(n for _, _, ns in tables.values() for n in ns))
    return _markdown(out_header, out_rows, notes, title)


def markdown_table(results: dict, title: str = "") -> str:
    """One results dict as a Markdown table (see the module docstring); averages from the values."""
    return _markdown(*results_table(results), title=title)


def _seed_values(res: dict, column: str) -> tuple[dict[str, float], dict[str, str]]:
    """One run's (language -> value) for a comparison table column, its Average, and the metrics used."""
    cells = _cells(res, column)
    values = {lang: v for lang, (v, _) in cells.items()}
    if values:
        values["Average"] = statistics.fmean(values.values())
    return values, {lang: m for lang, (_, m) in cells.items()}


def _summary(values: list[float], n_seeds: int, cut: int = 0) -> tuple[float, str]:
    """(mean, "mean ± std" text); sample std (n − 1) over seeds, "(n=k)" when seeds are missing, and how many
    of those were left out because their training was cut ("(n=2, 1 cut)")."""
    mean = statistics.fmean(values)
    text = f"{mean:.2f}" if len(values) == 1 else f"{mean:.2f} ± {statistics.stdev(values):.2f}"
    if len(values) < n_seeds:
        text += f" (n={len(values)}, {cut} cut)" if cut else f" (n={len(values)})"
    return mean, text


def comparison_rows(runs: dict[str, dict | list[dict]], column: str = "wer") -> Table:
    """Cells of one comparison table: rows = languages + Average, columns = recipes.

    A seed given as ``{"objectives": {}, "cut": True}`` is a run whose training was cut: it has no values and
    its cells say so (``(n=2, 1 cut)``).

    ``column`` is ``"wer"`` (ASR objectives, lower is better), ``"bleu"`` (translation, higher is
    better) or another metric name (``"accuracy"``...). The best cell of a row is bold (ties all bold;
    only when at least two recipes have a value); missing cells are ``—``.
    """
    lower = column == "wer" or column not in HIGHER_IS_BETTER
    per_recipe, cut = {}, {}
    for recipe, res in runs.items():
        seeds = res if isinstance(res, list) else [res]
        per_recipe[recipe] = [_seed_values(s, column) for s in seeds]
        cut[recipe] = sum(bool(s.get("cut")) for s in seeds)
    langs = _lang_order(lang for seeds in per_recipe.values() for vals, _ in seeds for lang in vals
                        if lang != "Average")
    cer_langs = {lang for seeds in per_recipe.values() for _, ms in seeds for lang, m in ms.items() if m == "cer"}
    rows = []
    for lang in langs + ["Average"]:
        summaries = {}
        for recipe, seeds in per_recipe.items():
            vals = [v[lang] for v, _ in seeds if lang in v]
            summaries[recipe] = _summary(vals, len(seeds), cut[recipe]) if vals else None
        present = [round(s[0], 2) for s in summaries.values() if s]
        best = (min(present) if lower else max(present)) if len(present) >= 2 else None
        label = f"{lang} (CER)" if lang in cer_langs else lang
        rows.append([label] + [MISSING if s is None else f"**{s[1]}**" if round(s[0], 2) == best else s[1]
                               for s in summaries.values()])
    notes = []
    lang_sets = {r: frozenset(lang for v, _ in seeds for lang in v) - {"Average"} for r, seeds in per_recipe.items()}
    if len({s for s in lang_sets.values() if s}) > 1:
        notes.append("Averages cover different language sets: "
                     + "; ".join(f"{r}: {','.join(_lang_order(s))}" for r, s in lang_sets.items() if s))
    return ["Language"] + list(runs), rows, notes


def comparison_table(runs: dict[str, dict | list[dict]], metric_order: tuple[str, ...] = ("wer", "bleu")) -> str:
    """Recipes side by side, one Markdown table per metric in ``metric_order`` (those with any value).

    ``runs`` maps a recipe name to a results dict, or to a list of them (seeds: cells "mean ± std").

    >>> r = lambda v: {"objectives": {"a": {"task": "asr", "language": "fr", "metric": "wer", "value": v}}}
    >>> print(comparison_table({"base": r(20.0), "modo": [r(18.0), r(19.0)]}))
    **ASR WER (%)**
    <BLANKLINE>
    | Language | base | modo |
    |---|---|---|
    | fr | 20.00 | **18.50 ± 0.71** |
    | Average | 20.00 | **18.50 ± 0.71** |
    """
    titles = {"wer": ASR_HEADER, "bleu": ST_HEADER}
    parts = []
    for column in metric_order:
        header, rows, notes = comparison_rows(runs, column)
        if any(cell != MISSING for row in rows for cell in row[1:]):
            parts.append(_markdown(header, rows, notes, title=titles.get(column, column)))
    return "\n\n".join(parts)


def write_csv(path: str | Path, results: dict | None = None, *, runs: dict | None = None, metric: str = "wer") -> Path:
    """Write :func:`markdown_table` of ``results``, or the ``metric`` table of :func:`comparison_table`
    for ``runs``, as CSV (same cells, bold markers removed; notes are not written). Returns the path.
    """
    if (results is None) == (runs is None):
        raise ValueError("write_csv needs exactly one of results= or runs=")
    header, rows, _ = results_table(results) if results is not None else comparison_rows(runs, metric)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([[cell.replace("**", "") for cell in row] for row in rows])
    return path
