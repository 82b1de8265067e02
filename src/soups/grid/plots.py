"""Report figures (PNG, matplotlib Agg): radar plots as in the paper's Fig. 1 and training curves.

* :func:`radar` — left ASR WER, right translation BLEU; one axis per language, one polygon per recipe (mean
  over seeds). For WER closer to the centre is better, for BLEU farther out. A recipe without a value on an
  axis gets a gap there (and "(incomplete)" in the legend): nothing is filled in.
* :func:`training_curves` — one panel per objective, the per-step training loss of every recipe (mean over
  seeds at each logged step; phases of two-stage recipes follow each other on the step axis).
* :func:`dev_curves` — dev average WER and BLEU against steps, one line per recipe (mean over seeds) with a
  band for the spread (min to max over seeds): what shows whether a run has converged.
* :func:`experiment_curves` — one experiment's dev WER per language and BLEU per pair against steps
  (``soups demo`` writes it next to its table).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from soups.data.languages import ALL_LANGS  # noqa: E402


def _lang_order(langs) -> list[str]:
    """The tables' order: the paper's languages first, then the others as they come."""
    seen = list(dict.fromkeys(langs))
    return [lang for lang in ALL_LANGS if lang in seen] + [lang for lang in seen if lang not in ALL_LANGS]


def _radar_panel(ax, values: dict[str, dict[str, float]], title: str) -> None:
    langs = _lang_order(lang for per in values.values() for lang in per)
    if not langs:
        ax.set_title(f"{title}\n(no values)")
        return
    angles = np.linspace(0, 2 * math.pi, len(langs), endpoint=False).tolist()
    top = max([v for per in values.values() for v in per.values() if math.isfinite(v)] or [0.0])
    ax.set_ylim(0, top * 1.1 if top > 0 else 1.0)
    for recipe, per in values.items():
        if not per:
            continue
        ys = [per.get(lang, np.nan) for lang in langs]
        label = recipe + (" (incomplete)" if any(np.isnan(ys)) else "")
        ax.plot(angles + angles[:1], ys + ys[:1], marker="o", linewidth=1.5, label=label)
    ax.set_xticks(angles)
    ax.set_xticklabels(langs)
    ax.set_title(title, pad=18)


def radar(wer: dict[str, dict[str, float]], bleu: dict[str, dict[str, float]], path: str | Path) -> Path:
    """Fig. 1: ``wer`` / ``bleu`` map recipe → language → mean value."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.5), subplot_kw={"projection": "polar"})
    _radar_panel(axes[0], wer, "ASR WER (%) — closer to the centre is better")
    _radar_panel(axes[1], bleu, "ST BLEU (X→En) — farther out is better")
    return _legend_and_save(fig, axes, path, bottom=0.08, dpi=110)


def phase_series(logs: list[list[dict]], prefix: str = "loss/") -> dict[str, dict[int, float]]:
    """``{name: {step: value}}`` of the log keys ``prefix<name>`` of one run (training losses by default;
    ``"dev/"`` for dev metrics); phase k's steps start where phase k−1 ended."""
    out: dict[str, dict[int, float]] = {}
    offset = 0
    for records in logs:
        last = 0
        for rec in records:
            step = int(rec.get("step", 0))
            last = max(last, step)
            for k, v in rec.items():
                if k.startswith(prefix) and isinstance(v, (int, float)) and math.isfinite(v):
                    out.setdefault(k[len(prefix):], {})[offset + step] = float(v)
        offset += last
    return out


def mean_series(runs: list[dict[str, dict[int, float]]]) -> dict[str, tuple[list[int], list[float]]]:
    """Mean over seeds at each step (steps logged by any seed; a mean over the seeds that have it)."""
    return {name: (steps, mean) for name, (steps, mean, _, _) in band_series(runs).items()}


def band_series(runs: list[dict[str, dict[int, float]]]) -> dict[str, tuple[list[int], list[float], list[float],
                                                                               list[float]]]:
    """``{name: (steps, mean, low, high)}`` over seeds at each step (min and max of the seeds that have it)."""
    out = {}
    for name in sorted({o for r in runs for o in r}):
        steps = sorted({s for r in runs for s in r.get(name, {})})
        values = [[r[name][s] for r in runs if s in r.get(name, {})] for s in steps]
        out[name] = (steps, [float(np.mean(v)) for v in values], [float(min(v)) for v in values],
                     [float(max(v)) for v in values])
    return out


DEV_PANELS = (("average_wer", "dev average WER (%)"), ("average_bleu", "dev average BLEU (X→En)"))


def dev_curves(series: dict[str, dict[str, tuple]], path: str | Path) -> Path:
    """``series``: recipe → :func:`band_series` of its seeds' ``dev/`` logs. One panel per average metric."""
    panels = [(key, title) for key, title in DEV_PANELS if any(key in per for per in series.values())]
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(6 * max(1, len(panels)), 4), squeeze=False)
    for ax, (key, title) in zip(axes.flat, panels):
        for recipe, per in series.items():
            if key in per and per[key][0]:
                steps, mean, low, high = per[key]
                (line,) = ax.plot(steps, mean, label=recipe, linewidth=1.3, marker=".")
                ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.15, linewidth=0)
        ax.set_title(title)
        ax.set_xlabel("step")
    if not panels:
        axes[0, 0].set_title("no dev evaluations logged (train.eval_every)")
    return _legend_and_save(fig, axes.flat, path, bottom=0.14, dpi=100)


def experiment_curves(records: list[dict], metrics: dict[str, str], path: str | Path, title: str = "") -> Path:
    """One run's dev curves: left each ``wer``/``cer`` objective and the average, right each ``bleu`` one.
    ``records``: ``EXP/log.jsonl``; ``metrics``: objective name → its metric."""
    dev = phase_series([records], "dev/")
    sides = (("ASR dev WER/CER (%)", ("wer", "cer"), "average_wer"), ("translation dev BLEU", ("bleu",), "average_bleu"))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), squeeze=False)
    for ax, (name, kinds, average) in zip(axes.flat, sides):
        for obj in sorted(o for o, m in metrics.items() if m in kinds and o in dev):
            ax.plot(*zip(*sorted(dev[obj].items())), label=obj, linewidth=1.0, marker=".")
        if average in dev:
            ax.plot(*zip(*sorted(dev[average].items())), label="average", color="black", linewidth=2.2)
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def training_curves(series: dict[str, dict[str, tuple[list[int], list[float]]]], path: str | Path) -> Path:
    """``series``: recipe → objective → (steps, losses)."""
    objectives = sorted({o for per in series.values() for o in per})
    cols = min(3, max(1, len(objectives)))
    rows = max(1, math.ceil(len(objectives) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.2 * rows), squeeze=False)
    for ax, obj in zip(axes.flat, objectives):
        for recipe, per in series.items():
            if obj in per and per[obj][0]:
                ax.plot(*per[obj], label=recipe, linewidth=1.2)
        ax.set_title(obj)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
    for ax in list(axes.flat)[len(objectives):]:
        ax.axis("off")
    return _legend_and_save(fig, axes.flat, path, bottom=0.07, dpi=100)


def _legend_and_save(fig, axes, path, bottom: float, dpi: int) -> Path:
    """One legend below all panels (each label once), then write the PNG and close the figure."""
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(5, len(labels)), fontsize=8)
    fig.tight_layout(rect=(0, bottom, 1, 1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
