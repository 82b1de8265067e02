"""Read a grid's output folder (``RUNS/<recipe>/seed<N>/``): results, configs, logs — and what is missing.

Nothing is invented: a cell without ``eval/<split>/results.json``, with a failed status, or whose
``config.yaml`` does not load with this version of soups (an incompatible older run) is listed as a
problem with a clear reason, and its table cells stay empty.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

SEED_DIR = re.compile(r"^seed(\d+)$")
EMPTY = {"objectives": {}}  # a missing seed in comparison tables (counts as a seed without values)
CUT = {"objectives": {}, "cut": True}  # a seed whose training was cut: no values, marked in the tables


@dataclass
class Cell:
    recipe: str                     # display name
    slug: str
    seed: int
    dir: Path
    results: dict | None = None
    cfg: object | None = None       # ExperimentConfig, None if config.yaml is missing or does not load
    problem: str | None = None
    cut: bool = False               # training stopped before its schedule ended: no values in the tables

    @property
    def ok(self) -> bool:
        return self.results is not None


def _display_name(recipe_dir: Path) -> str:
    meta = recipe_dir / "recipe.json"
    try:
        return str(json.loads(meta.read_text())["name"]) if meta.is_file() else recipe_dir.name
    except (ValueError, KeyError):
        return recipe_dir.name


def _load_cfg(cell: Cell) -> None:
    from soups.errors import SoupsError
    from soups.train.config import load_config

    path = cell.dir / "config.yaml"
    if not path.is_file():
        cell.problem = "not trained (no config.yaml)"
        return
    try:
        cell.cfg = load_config(path)
    except SoupsError as err:
        cell.problem = f"config.yaml does not load with this version of soups (incompatible run): {err}"
    except Exception as err:  # noqa: BLE001 — anything unreadable is reported, never fatal
        cell.problem = f"config.yaml unreadable ({type(err).__name__}: {err})"


def _load_results(cell: Cell, split: str) -> None:
    status = cell.dir / "cell.json"
    if status.is_file():
        try:
            info = json.loads(status.read_text())
        except ValueError:
            info = {}
        if info.get("status") == "failed":
            cell.problem = f"failed: {str(info.get('error', '?')).splitlines()[0]}"
            return
    path = cell.dir / "eval" / split / "results.json"
    if not path.is_file():
        cell.problem = f"not evaluated on {split} (no eval/{split}/results.json)"
        return
    try:
        results = json.loads(path.read_text())
        if not isinstance(results.get("objectives"), dict):
            raise ValueError("no 'objectives' mapping")
    except (ValueError, AttributeError) as err:
        cell.problem = f"eval/{split}/results.json unreadable: {err}"
        return
    training = results.get("training") or {}
    if training.get("cut"):  # never mixed silently into a table of finished runs
        cell.cut = True
        cell.problem = (f"cut at step {training['steps']} of {training['max_steps']} (train.max_minutes or an "
                        "interrupted run): left out of the tables")
        return
    cell.results = results


def recipe_order(runs: Path, slugs: list[str]) -> list[str]:
    """Grid order (``RUNS/grid.json``) first, then any other recipe folders, alphabetically."""
    index = runs / "grid.json"
    order = []
    if index.is_file():
        try:
            order = [r["slug"] for r in json.loads(index.read_text()).get("recipes", [])]
        except (ValueError, KeyError, TypeError):
            order = []
    return [s for s in order if s in slugs] + sorted(s for s in slugs if s not in order)


def collect(runs: str | Path, split: str = "test") -> tuple[list[str], list[Cell]]:
    """``(recipe display names in order, cells)``; cells with a ``problem`` have no results."""
    runs = Path(runs)
    if not runs.is_dir():
        from soups.errors import DataError

        raise DataError("not a folder of grid runs", path=runs)
    slugs = [d.name for d in runs.iterdir() if d.is_dir() and any(SEED_DIR.match(s.name) for s in d.iterdir())]
    cells, names = [], []
    for slug in recipe_order(runs, slugs):
        name = _display_name(runs / slug)
        names.append(name)
        seeds = sorted((int(SEED_DIR.match(s.name).group(1)), s) for s in (runs / slug).iterdir()
                       if s.is_dir() and SEED_DIR.match(s.name))
        for seed, d in seeds:
            cell = Cell(name, slug, seed, d)
            _load_cfg(cell)
            if cell.problem is None:
                _load_results(cell, split)
            cells.append(cell)
    return names, cells


def all_seeds(cells: list[Cell]) -> list[int]:
    return sorted({c.seed for c in cells})


def by_recipe(names: list[str], cells: list[Cell], seeds: list[int] | None = None) -> dict[str, list[dict]]:
    """``{recipe: [results per seed]}`` for :func:`soups.eval.report.comparison_rows`: every expected seed
    appears, a missing one as an empty results dict (so a cell shows "(n=k)" when seeds are missing)."""
    seeds = all_seeds(cells) if seeds is None else seeds
    out = {}
    for name in names:
        own = {c.seed: c.results for c in cells if c.recipe == name and c.ok}
        cut = {c.seed for c in cells if c.recipe == name and c.cut}
        out[name] = [own.get(s, CUT if s in cut else EMPTY) for s in seeds]
    return out


def read_log(exp: Path) -> list[dict]:
    """The records of ``EXP/log.jsonl`` (unreadable lines are skipped)."""
    path = exp / "log.jsonl"
    out = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def phase_logs(cell_dir: Path) -> list[list[dict]]:
    """The logs of a cell's phases in order (earlier phases under ``phases/<i>-<name>/``, then the cell)."""
    phase_root = cell_dir / "phases"
    earlier = sorted(phase_root.iterdir(), key=lambda p: int(p.name.split("-")[0])) if phase_root.is_dir() else []
    return [read_log(p) for p in earlier if p.is_dir() and p.name.split("-")[0].isdigit()] + [read_log(cell_dir)]
