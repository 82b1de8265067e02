"""``soups conflicts EXP|CONFIG --steps N --out DIR``: measure gradient conflicts between objectives
(docs/method.md "Conflict diagnostics", the paper's Appendix C and Figs 3–5).

    soups conflicts runs/grid/VM-UAS/seed0 --steps 50 --out runs/conflicts            # the best checkpoint
    soups conflicts runs/grid/VM-UAS/seed0 --steps 20 --checkpoint all --out runs/c   # every kept checkpoint
    soups conflicts configs/demo.yaml --steps 20 --out runs/c0 data.dir=data/synthetic-small   # at initialisation

Per step: fresh batches from the training streams (SpecAugment, BEST-RQ masking as in training), the model in
train mode, the exact per-objective gradients of every shared (encoder) parameter — the gradient engine's
own Jacobian rows — per layer group; NO optimizer step (measuring, not training). The statistic
(:class:`soups.moo.ConflictStats`, ``--statistic``): ``accumulated`` (the paper's, the default) sums each
objective's gradients over the steps and takes one cosine; ``per_step`` averages the steps' cosines.

Writes ``DIR/conflicts.json``: ``objectives`` (name, task, lang), ``names``, ``steps``, ``statistic``, ``model``
(``cosine``: the chosen statistic's matrix, read by the figures and ``soups suggest-hierarchy``; also
``accumulated_cosine``, ``mean_cosine`` (per step), counts, undefined counts), ``layers`` ({group: the same}),
``layer_order``, ``source``,
``checkpoint``; with several checkpoints also ``evolution`` (one entry per checkpoint, by training step);
and ``layer_selection`` ({group: [[step, 0/1], …]}) from ``layer_selected/*`` records of the run's log.
Figures: see :mod:`soups.grid.conflict_plots`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from soups.errors import CheckpointError, ConfigError
from soups.moo import ConflictStats
from soups.moo.conflicts import MODEL, STATISTICS
from soups.train.checkpoint import load_checkpoint


def resolve_source(source: str | Path, out: Path, checkpoint: str | None, overrides: list[str]):
    """``(cfg, work dir, [(label, checkpoint path or None)], log path or None)``."""
    from soups.eval.experiment import checkpoint_path
    from soups.train.config import load_config

    source = Path(source)
    if source.is_dir():
        if not (source / "config.yaml").is_file():
            raise CheckpointError(f"{source} is not an experiment directory (no config.yaml)")
        if overrides:
            raise ConfigError("overrides", "an experiment is measured with its own config (overrides apply to "
                              "a CONFIG)")
        cfg = load_config(source / "config.yaml")
        if checkpoint == "all":
            ckpts = sorted((source / "checkpoints").glob("ckpt-*.pt"))
            if not ckpts:
                raise CheckpointError(f"{source}/checkpoints: no checkpoint found")
            points = [(p.stem, p) for p in ckpts]
        else:
            path = checkpoint_path(source, checkpoint or "best")
            points = [(path.stem, path)]
        return cfg, source, points, source / "log.jsonl"
    cfg = load_config(source, overrides)
    if checkpoint not in (None, "init"):
        path = Path(checkpoint)
        if not path.is_file():
            raise CheckpointError(f"checkpoint {path} not found (with a CONFIG: --checkpoint PATH or nothing)")
        return cfg, out / "work", [(path.stem, path)], None
    return cfg, out / "work", [("init", None)], None


def _measure_step(ctx, stats: ConflictStats) -> None:
    from soups.train.step import step_terms

    model = ctx.model
    model.train()
    batches = ctx.data.next()   # fresh batches, draws 0, 1, …; nothing is updated
    views = model.encode(batches, joint=ctx.cfg.train.encoder_forward == "joint")
    terms, _ = step_terms(model, views, batches, halves=False)
    stats.update_gradients(ctx.moo.layer_jacobians_terms(terms))
    model.zero_grad(set_to_none=True)


def measure(cfg, work: Path, state_path: Path | None, steps: int) -> tuple[ConflictStats, int | None]:
    """Mean cosines over ``steps`` fresh batches (same batches for every checkpoint: the streams restart)."""
    from soups.train.loop import make_context

    work.mkdir(parents=True, exist_ok=True)
    ctx = make_context(cfg, work)
    trained_step = None
    if state_path is not None:
        state = load_checkpoint(state_path)
        try:
            ctx.model.load_state_dict(state["model"])
        except (RuntimeError, KeyError) as err:
            raise CheckpointError(f"{state_path} does not match the experiment's model: {err}") from None
        trained_step = state.get("step")
    stats = ConflictStats(ctx.model.names)
    try:
        for _ in range(steps):
            _measure_step(ctx, stats)
    finally:
        ctx.data.close()
    return stats, trained_step


def _matrices(stats: ConflictStats, key: str, statistic: str) -> dict:
    acc = stats.to_json()["layers"][key]
    return {"cosine": acc["accumulated_cosine" if statistic == "accumulated" else "mean_cosine"],
            "accumulated_cosine": acc["accumulated_cosine"], "mean_cosine": acc["mean_cosine"],
            "count": acc["count"], "undefined": acc["undefined"]}


def layer_selection(log: Path | None) -> dict[str, list[list[float]]]:
    """``{group: [[step, selected], …]}`` from the ``layer_selected/<group>`` records of a run's log."""
    out: dict[str, list[list[float]]] = {}
    if log is None or not log.is_file():
        return out
    for line in log.read_text().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        for k, v in rec.items():
            if k.startswith("layer_selected/"):
                out.setdefault(k[len("layer_selected/"):], []).append([rec.get("step", 0), v])
    return out


def run_conflicts(source: str | Path, steps: int, out: str | Path, checkpoint: str | None = None,
                  overrides: list[str] = (), plots: bool = True, echo=print, statistic: str = "accumulated") -> dict:
    """Measure (every requested checkpoint), write ``conflicts.json`` and the figures; returns the JSON."""
    if steps < 1:
        raise ConfigError("--steps", f"must be >= 1, got {steps}")
    if statistic not in STATISTICS:
        raise ConfigError("--statistic", f"unknown statistic {statistic!r}", choices=STATISTICS)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg, work, points, log = resolve_source(source, out, checkpoint, list(overrides))
    evolution = []
    for label, path in points:
        echo(f"measuring {label}: {steps} steps")
        stats, trained = measure(cfg, work, path, steps)
        evolution.append({"checkpoint": label, "path": None if path is None else str(path),
                          "step": trained if trained is not None else _step_of(label),
                          "model": _matrices(stats, MODEL, statistic),
                          "layers": {g: _matrices(stats, g, statistic) for g in stats.layers}})
    last = evolution[-1]
    data = {"source": str(source), "checkpoint": last["checkpoint"], "steps": steps, "statistic": statistic,
            "names": stats.names,
            "objectives": [{"name": o.name, "task": o.task, "lang": o.lang} for o in cfg.objectives],
            "model": last["model"], "layers": last["layers"], "layer_order": stats.layers,
            "layer_selection": layer_selection(log)}
    if len(evolution) > 1:
        data["evolution"] = [{k: e[k] for k in ("checkpoint", "step", "model", "layers")} for e in evolution]
    (out / "conflicts.json").write_text(json.dumps(data, indent=1))
    if plots:
        from soups.grid.conflict_plots import plot_all

        for path in plot_all(data, out):
            echo(f"wrote {path}")
    return data


def _step_of(label: str) -> int | None:
    m = re.match(r"ckpt-(\d+)$", label)
    return int(m.group(1)) if m else None
