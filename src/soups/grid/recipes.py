"""Grid files and recipe files → one experiment config per (recipe, seed, phase).

A **recipe** is an experiment config (YAML, the keys of :class:`soups.train.config.ExperimentConfig`) plus
a few grid keys::

    name: PT+FT                  # the display name (grid files and reports use it)
    base: base.yaml              # deep-merged under this file (mappings merge, lists are replaced); chains
    description: …               # free text
    phases:                      # optional; without it the recipe is one phase named "train"
      - name: pt
        steps: 0.5               # float: share of the grid's step budget; int: absolute steps
        objectives: [task:ssl]   # selectors (exact name, fnmatch glob, task:T, lang:L); default: all
        overrides: [moo.mode=linear]      # dotted.key=value, applied to this phase only
        config: {train: {lr_backbone: 5.0e-4}}   # deep-merged into this phase only
      - name: ft
        steps: 0.5
        init_from: previous      # previous | <phase name>: start from that phase's final checkpoint
        freeze: [encoder]        # encoder | layer:<group> | objective selectors (their heads)
        weights: mean            # mean | level_mean | {by: lang|task|objective, values: {…}, normalize: true}
        weight_search: {…}       # see soups.grid.search (static weights picked by dev score)

A single-phase recipe may carry ``weights`` / ``weight_search`` at the top level.

A **grid file**::

    corpus: data/synthetic-small   # data.dir of every run (relative to the current directory)
    steps: 2000                    # step budget of one run (train.max_steps; phases take shares)
    overrides: [train.threads=2]   # every run, after the recipe (phase settings still come last)
    test_utterances: null          # per language at the final test evaluation (null: all)
    checkpoint: best               # which checkpoint is evaluated on test
    recipe_dir: .                  # where recipe files are (default: the grid file's folder)
    recipes:                       # a name (the recipe file in recipe_dir with that `name`) or a mapping
      - PT+FT
      - {name: VS (fast), file: vs.yaml, overrides: [moo.mode=fast]}

Order of application for a phase: recipe (with bases) → ``data.dir = corpus`` → grid overrides → the
recipe entry's overrides → phase objectives, config, overrides → weights → steps and seed.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from soups.errors import ConfigError

RECIPE_KEYS = ("name", "base", "description", "phases", "weights", "weight_search")
PHASE_KEYS = ("name", "steps", "objectives", "freeze", "init_from", "overrides", "config", "weights",
              "weight_search")
GRID_KEYS = ("corpus", "steps", "overrides", "recipes", "recipe_dir", "test_utterances", "checkpoint", "description")
LANG_KEYS = ("train_sources", "dev_sources", "test_sources", "ssl_sources", "subset_fraction", "upsample")


@dataclass
class RecipeEntry:
    name: str
    file: Path
    overrides: list[str] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return slug(self.name)


@dataclass
class Grid:
    path: Path
    steps: int
    recipes: list[RecipeEntry]
    corpus: str | None = None
    overrides: list[str] = field(default_factory=list)
    test_utterances: int | None = None
    checkpoint: str = "best"

    def entry(self, name: str) -> RecipeEntry:
        for e in self.recipes:
            if e.name == name:
                return e
        raise ConfigError(f"{self.path}: recipes", f"unknown recipe {name!r}", choices=[e.name for e in self.recipes])


@dataclass
class PhaseSpec:
    name: str
    steps: int
    objectives: list[str] | None = None
    freeze: list[str] = field(default_factory=list)
    init_from: str | None = None
    overrides: list[str] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    weights: Any = None
    weight_search: dict | None = None


def slug(name: str) -> str:
    """A directory name for a recipe: ``joint w/o MOO`` → ``joint-w-o-MOO``."""
    out = re.sub(r"[^A-Za-z0-9+._=-]+", "-", name).strip("-.")
    if not out:
        raise ConfigError("recipes", f"recipe name {name!r} gives no usable directory name")
    return out


def read_yaml(path: Path, what: str) -> dict:
    if not path.is_file():
        raise ConfigError(str(path), f"{what} not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(str(path), f"not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(str(path), f"a {what} must be a mapping, got {type(data).__name__}")
    return data


def deep_merge(base: dict, top: dict) -> dict:
    """``top`` over ``base``: mappings merge key by key, everything else (lists included) is replaced."""
    out = copy.deepcopy(base)
    for k, v in top.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def load_recipe_data(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict:
    """A recipe file with its ``base`` chain merged in (``base`` paths are relative to the file)."""
    path = Path(path).resolve()
    if path in _chain:
        raise ConfigError(f"{path}: base", "circular base chain: " + " -> ".join(str(p) for p in _chain + (path,)))
    data = read_yaml(path, "recipe file")
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"{path}: base", f"must be a file name, got {base!r}")
    parent = load_recipe_data(path.parent / base, _chain + (path,))
    for key in ("name", "description"):  # a base's display name is not inherited
        parent.pop(key, None)
    return deep_merge(parent, data)


def recipe_index(recipe_dir: Path) -> dict[str, Path]:
    """``{display name: file}`` of the YAML files in ``recipe_dir`` that declare a ``name``."""
    out: dict[str, Path] = {}
    for path in sorted(recipe_dir.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            continue
        if isinstance(data, dict) and isinstance(data.get("name"), str) and "recipes" not in data:
            if data["name"] in out:
                raise ConfigError(f"{path}: name", f"recipe name {data['name']!r} is also used by {out[data['name']]}")
            out[data["name"]] = path
    return out


def _entries(raw: Any, grid_path: Path, recipe_dir: Path) -> list[RecipeEntry]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{grid_path}: recipes", "must be a non-empty list of recipe names or mappings")
    index, out = None, []
    for i, item in enumerate(raw):
        key = f"{grid_path}: recipes[{i}]"
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ConfigError(key, f"expected a recipe name or {{name, file, overrides}}, got {item!r}")
        unknown = set(item) - {"name", "file", "overrides"}
        if unknown:
            raise ConfigError(f"{key}.{sorted(unknown)[0]}", "unknown key", choices=["name", "file", "overrides"])
        if item.get("file"):
            file = recipe_dir / item["file"]
            if not file.is_file():
                raise ConfigError(f"{key}.file", f"recipe file {file} not found")
        else:
            index = recipe_index(recipe_dir) if index is None else index
            if item["name"] not in index:
                raise ConfigError(key, f"unknown recipe {item['name']!r} (no file in {recipe_dir} has this name)",
                                  choices=sorted(index))
            file = index[item["name"]]
        overrides = item.get("overrides") or []
        if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
            raise ConfigError(f"{key}.overrides", "must be a list of dotted.key=value strings")
        out.append(RecipeEntry(item["name"], file, list(overrides)))
    names = [e.name for e in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    slugs = [e.slug for e in out]
    if dup or len(set(slugs)) != len(slugs):
        raise ConfigError(f"{grid_path}: recipes", f"recipe names must be unique (as directory names too): {names}")
    return out


def load_grid(path: str | Path) -> Grid:
    """Read and check a grid file (recipes resolved to files; their configs are checked by the planner)."""
    path = Path(path)
    data = read_yaml(path, "grid file")
    for k in data:
        if k not in GRID_KEYS:
            raise ConfigError(f"{path}: {k}", "unknown key", choices=GRID_KEYS)
    steps = data.get("steps")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"{path}: steps", f"the step budget must be a positive integer, got {steps!r}")
    overrides = data.get("overrides") or []
    if not isinstance(overrides, list) or not all(isinstance(o, str) and "=" in o for o in overrides):
        raise ConfigError(f"{path}: overrides", "must be a list of dotted.key=value strings")
    test_utts = data.get("test_utterances")
    if test_utts is not None and (isinstance(test_utts, bool) or not isinstance(test_utts, int) or test_utts < 1):
        raise ConfigError(f"{path}: test_utterances", f"must be a positive integer or null, got {test_utts!r}")
    recipe_dir = path.parent / str(data.get("recipe_dir") or ".")
    return Grid(path, steps, _entries(data.get("recipes"), path, recipe_dir),
                None if data.get("corpus") is None else str(data["corpus"]), list(overrides), test_utts,
                str(data.get("checkpoint") or "best"))


def phase_steps(value: Any, budget: int, key: str) -> int:
    """An int is absolute; a float in (0, 1] is a share of the budget (at least one step)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(key, f"expected an integer (steps) or a share in (0, 1], got {value!r}")
    if isinstance(value, int):
        if value < 1:
            raise ConfigError(key, f"must be >= 1, got {value}")
        return value
    if not 0 < value <= 1:
        raise ConfigError(key, f"a share of the step budget must be in (0, 1], got {value}")
    return max(1, round(value * budget))


def recipe_phases(data: dict, file: Path, budget: int) -> list[PhaseSpec]:
    """The phases of a recipe (an implicit single phase "train" when it has none)."""
    raw = data.get("phases")
    if raw is None:
        return [PhaseSpec("train", budget, weights=data.get("weights"), weight_search=data.get("weight_search"))]
    if data.get("weights") is not None or data.get("weight_search") is not None:
        raise ConfigError(f"{file}: weights", "with phases, weights and weight_search belong to a phase")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{file}: phases", "must be a non-empty list of phases")
    out: list[PhaseSpec] = []
    for i, ph in enumerate(raw):
        key = f"{file}: phases[{i}]"
        if not isinstance(ph, dict) or not isinstance(ph.get("name"), str):
            raise ConfigError(key, "a phase is a mapping with at least a name and steps")
        for k in ph:
            if k not in PHASE_KEYS:
                raise ConfigError(f"{key}.{k}", "unknown key", choices=PHASE_KEYS)
        if any(p.name == ph["name"] for p in out):
            raise ConfigError(f"{key}.name", f"phase name {ph['name']!r} is used twice")
        init = ph.get("init_from")
        if init is not None and init != "previous" and init not in [p.name for p in out]:
            raise ConfigError(f"{key}.init_from", f"{init!r} is not an earlier phase",
                              choices=["previous"] + [p.name for p in out])
        if init == "previous" and not out:
            raise ConfigError(f"{key}.init_from", "the first phase has no previous phase")
        for lst in ("objectives", "freeze", "overrides"):
            v = ph.get(lst)
            if v is not None and (not isinstance(v, list) or not all(isinstance(s, str) for s in v)):
                raise ConfigError(f"{key}.{lst}", f"must be a list of strings, got {v!r}")
        if not isinstance(ph.get("config") or {}, dict):
            raise ConfigError(f"{key}.config", "must be a mapping (deep-merged into the phase's config)")
        out.append(PhaseSpec(ph["name"], phase_steps(ph.get("steps"), budget, f"{key}.steps"), ph.get("objectives"),
                             list(ph.get("freeze") or []), out[-1].name if init == "previous" else init,
                             list(ph.get("overrides") or []), dict(ph.get("config") or {}), ph.get("weights"),
                             ph.get("weight_search")))
    return out
