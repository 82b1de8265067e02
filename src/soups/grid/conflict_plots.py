"""Figures of ``soups conflicts`` (PNG, matplotlib Agg), from the data of ``conflicts.json``:

* ``heatmap_model.png`` — Fig. 3: objectives × objectives mean cosine over the whole shared encoder;
* ``heatmap_layers.png`` — the same per layer group (frontend, block.0, …), one panel each;
* ``clusters.png`` — Fig. 4: objectives placed by classical MDS of the distance 1 − cos, coloured by
  hierarchical clusters (average linkage cut at cos = 0), sized by their mean cosine with the others;
* ``evolution.png`` — over training: mean cosine per pair of tasks (ASR–ST, ASR–SSL, …) at each measured
  checkpoint, and/or which layers the layer-wise selection marked conflicting (``layer_selected/*``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from soups.grid.suggest import cluster_labels, cosine_array, entry_cosine, mds_2d  # noqa: E402


def _heat(ax, names: list[str], cos: np.ndarray, title: str, annotate: bool = True):
    im = ax.imshow(np.nan_to_num(cos, nan=0.0), cmap="RdBu", vmin=-1, vmax=1)
    ax.set_xticks(range(len(names)))
    ax.set_yticks(range(len(names)))
    ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
    ax.set_yticklabels(names, fontsize=7)
    ax.set_title(title, fontsize=9)
    if annotate and len(names) <= 12:
        for i in range(len(names)):
            for j in range(len(names)):
                text = "n/a" if np.isnan(cos[i, j]) else f"{cos[i, j]:.2f}"
                ax.text(j, i, text, ha="center", va="center", fontsize=6)
    return im


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def heatmap_model(names: list[str], matrix, path: Path, title: str = "gradient cosine — whole encoder") -> Path:
    fig, ax = plt.subplots(figsize=(1.2 + 0.6 * len(names), 1.0 + 0.55 * len(names)))
    im = _heat(ax, names, cosine_array(matrix), title)
    fig.colorbar(im, ax=ax, shrink=0.8)
    return _save(fig, path)


def heatmap_layers(names: list[str], layers: dict, order: list[str], path: Path) -> Path:
    cols = min(4, max(1, len(order)))
    rows = -(-len(order) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.4 * rows), squeeze=False)
    im = None
    for ax, layer in zip(axes.flat, order):
        im = _heat(ax, names, entry_cosine(layers[layer]), layer, annotate=False)
    for ax in list(axes.flat)[len(order):]:
        ax.axis("off")
    if im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.6)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def cluster_scatter(names: list[str], matrix, path: Path) -> Path:
    cos = cosine_array(matrix)
    xy = mds_2d(1.0 - np.nan_to_num(cos, nan=0.0))
    labels = cluster_labels(cos, method="average", min_cosine=0.0)
    off = np.nan_to_num(cos, nan=0.0) - np.eye(len(names))
    mean_sim = off.sum(1) / max(1, len(names) - 1)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    sc = ax.scatter(xy[:, 0], xy[:, 1], c=labels, cmap="tab10", s=120 + 400 * (mean_sim + 1) / 2,
                    edgecolors="black", vmin=0, vmax=9)
    for (x, y), name in zip(xy, names):
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(6, 6), fontsize=8)
    ax.set_title("Objectives by gradient similarity (MDS of 1 − cos)\ncolour: cluster (average linkage, cut at "
                 "cos 0); size: mean cos with the others", fontsize=9)
    ax.legend(*sc.legend_elements(), title="cluster", fontsize=7, loc="best")
    return _save(fig, path)


def pair_classes(objectives: list[dict]) -> dict[str, list[tuple[int, int]]]:
    """Pairs of objectives grouped by their tasks (``asr–st``, ``asr–asr``, ``asr–ssl`` …)."""
    out: dict[str, list[tuple[int, int]]] = {}
    for i in range(len(objectives)):
        for j in range(i + 1, len(objectives)):
            key = "–".join(sorted((objectives[i]["task"], objectives[j]["task"])))
            out.setdefault(key, []).append((i, j))
    return out


def evolution(data: dict, path: Path) -> Path | None:
    """Cosine per task pair over checkpoints, and the logged layer selection; None if neither exists."""
    evo, sel = data.get("evolution") or [], data.get("layer_selection") or {}
    panels = int(len(evo) > 1) + int(bool(sel))
    if not panels:
        return None
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 4.2), squeeze=False)
    k = 0
    if len(evo) > 1:
        ax, k = axes[0, 0], 1
        steps = [e["step"] if e["step"] is not None else i for i, e in enumerate(evo)]
        for key, pairs in pair_classes(data["objectives"]).items():
            ys = [np.nanmean([entry_cosine(e["model"])[i, j] for i, j in pairs]) for e in evo]
            ax.plot(steps, ys, marker="o", label=key)
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xlabel("training step")
        ax.set_ylabel("mean cosine (whole encoder)")
        ax.legend(fontsize=7)
    if sel:
        ax = axes[0, k]
        layers = list(sel)
        steps = sorted({s for v in sel.values() for s, _ in v})
        grid = np.full((len(layers), len(steps)), np.nan)
        for r, layer in enumerate(layers):
            for s, v in sel[layer]:
                grid[r, steps.index(s)] = v
        x0, x1 = (steps[0], steps[-1]) if len(steps) > 1 else (steps[0] - 0.5, steps[0] + 0.5)
        ax.imshow(grid, aspect="auto", cmap="Reds", vmin=0, vmax=1, interpolation="nearest",
                  extent=(x0, x1, len(layers) - 0.5, -0.5))
        ax.set_yticks(range(len(layers)))
        ax.set_yticklabels(layers, fontsize=7)
        ax.set_xlabel("training step")
        ax.set_title("layers selected as conflicting (layer-wise MoDo)")
    return _save(fig, path)


def plot_all(data: dict, out: Path) -> list[Path]:
    out = Path(out)
    names = data["names"]
    model = entry_cosine(data["model"]).tolist()
    title = {"accumulated": "cosine of accumulated gradients", "per_step": "mean per-step gradient cosine"}.get(
        data.get("statistic", "per_step"), "gradient cosine")
    paths = [heatmap_model(names, model, out / "heatmap_model.png", f"{title} — whole encoder"),
             heatmap_layers(names, data["layers"], data["layer_order"], out / "heatmap_layers.png"),
             cluster_scatter(names, model, out / "clusters.png")]
    evo = evolution(data, out / "evolution.png")
    return paths + ([evo] if evo is not None else [])
