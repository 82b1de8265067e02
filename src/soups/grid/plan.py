"""From a grid entry, a seed and a phase to a checked :class:`ExperimentConfig` (see :mod:`soups.grid.recipes`
for the file formats and the order in which settings apply).

Layout of a cell (one recipe, one seed) under the grid's output folder::

    RUNS/<recipe slug>/seed<N>/            the final phase's experiment (config.yaml, checkpoints/, eval/test/)
    RUNS/<recipe slug>/seed<N>/phases/<i>-<name>/   earlier phases (multi-phase recipes)
    RUNS/<recipe slug>/seed<N>/cell.json   status: done | failed (with the error) | running
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from soups.config_schema import apply_overrides
from soups.errors import ConfigError
from soups.grid.recipes import (LANG_KEYS, RECIPE_KEYS, Grid, PhaseSpec, RecipeEntry, deep_merge, load_recipe_data,
                                recipe_phases)
from soups.grid.weights import apply_weights
from soups.train.config import ExperimentConfig, load_config
from soups.train.init import select


@dataclass
class PhasePlan:
    """One phase of one cell: where it runs and with which config."""

    spec: PhaseSpec
    index: int
    exp_dir: Path
    cfg: ExperimentConfig
    notes: list[str] = field(default_factory=list)
    init_checkpoint: Path | None = None   # the final checkpoint of the phase that initialises this one

    @property
    def final_checkpoint(self) -> Path:
        return self.exp_dir / "checkpoints" / f"ckpt-{self.cfg.train.max_steps:08d}.pt"


def cell_dir(out: Path, entry: RecipeEntry, seed: int) -> Path:
    return Path(out) / entry.slug / f"seed{seed}"


def phase_dirs(cell: Path, phases: list[PhaseSpec]) -> list[Path]:
    """The last phase runs in the cell folder itself (that is what ``soups eval`` and the report read)."""
    return [cell if i == len(phases) - 1 else cell / "phases" / f"{i}-{p.name}" for i, p in enumerate(phases)]


def recipe_data(entry: RecipeEntry) -> tuple[dict, dict]:
    """``(experiment config data, grid keys)`` of a recipe file (bases merged)."""
    data = load_recipe_data(entry.file)
    meta = {k: data.pop(k) for k in RECIPE_KEYS if k in data}
    return data, meta


def _supervised_langs(objectives: list[dict]) -> list[str]:
    return sorted({o["lang"] for o in objectives if o.get("task") != "ssl" and o.get("lang")})


def _fit_languages(data: dict, all_langs: list[str], notes: list[str]) -> None:
    """A phase that drops languages: the SSL stream keeps the recipe's languages, and per-language data
    settings of languages no objective uses any more are dropped (with a note)."""
    objs = data["objectives"]
    langs = _supervised_langs(objs)
    for o in objs:
        if o.get("task") == "ssl" and not o.get("langs") and langs != all_langs:
            o["langs"] = list(all_langs)
            notes.append(f"objective {o.get('name')}: langs set to the recipe's languages {all_langs}")
    used = set(langs) | {lang for o in objs if o.get("task") == "ssl" for lang in (o.get("langs") or langs)}
    for key in LANG_KEYS:
        section = (data.get("data") or {}).get(key)
        if isinstance(section, dict):
            for lang in sorted(set(section) - used):
                del section[lang]
                notes.append(f"data.{key}.{lang} dropped: no objective of this phase uses {lang}")


def phase_data(grid: Grid, entry: RecipeEntry, base: dict, spec: PhaseSpec, seed: int,
               weights=None) -> tuple[dict, list[str]]:
    """The experiment config data of one phase (``weights`` replaces the phase's own weight setting)."""
    notes: list[str] = []
    data = copy.deepcopy(base)
    if grid.corpus is not None:
        data.setdefault("data", {})["dir"] = grid.corpus
    key = f"{entry.file} (recipe {entry.name!r})"
    _overrides(data, grid.overrides, f"{grid.path}: overrides")
    _overrides(data, entry.overrides, f"{grid.path}: recipes[{entry.name}].overrides")
    objs = data.get("objectives")
    if not isinstance(objs, list) or not all(isinstance(o, dict) for o in objs):
        raise ConfigError(f"{key}: objectives", "a recipe needs its list of objectives (in it or a base)")
    all_langs = _supervised_langs(objs)
    if spec.objectives is not None:
        data["objectives"] = select(objs, spec.objectives, f"{key}: phases[{spec.name}].objectives")
    data = deep_merge(data, spec.config)
    _overrides(data, spec.overrides, f"{key}: phases[{spec.name}].overrides")
    notes += apply_weights(data, spec.weights if weights is None else weights, f"{key}: phases[{spec.name}].weights")
    _fit_languages(data, all_langs, notes)
    train = data.setdefault("train", {})
    train["max_steps"], train["seed"] = spec.steps, seed
    return data, notes


def _overrides(data: dict, overrides: list[str], key: str) -> None:
    try:
        apply_overrides(data, list(overrides))
    except ConfigError as err:
        raise ConfigError(f"{key}: {err.key}", err.message, err.choices) from None


def check_phase(cfg: ExperimentConfig, spec: PhaseSpec, key: str) -> None:
    """What the trainer would ignore: static objective weights outside linear mode, freezing parameters that
    were never trained (a frozen encoder outside linear mode is refused by the config itself)."""
    if (spec.weights is not None or spec.weight_search is not None) and cfg.moo.mode != "linear":
        raise ConfigError(f"{key}.weights", f"objective weights are used by moo.mode linear only (got "
                          f"{cfg.moo.mode!r}, where the hierarchy's weighting sets them)")
    if spec.freeze and spec.init_from is None:
        raise ConfigError(f"{key}.freeze", "freezing parameters that were never trained: set init_from")


def build_phase(grid: Grid, entry: RecipeEntry, seed: int, out: Path, index: int, weights=None,
                base: tuple[dict, dict] | None = None) -> PhasePlan:
    """The plan (config checked) of phase ``index`` of a cell."""
    data, meta = base or recipe_data(entry)
    phases = recipe_phases(meta, entry.file, grid.steps)
    spec, dirs = phases[index], phase_dirs(cell_dir(out, entry, seed), phases)
    pdata, notes = phase_data(grid, entry, data, spec, seed, weights)
    key = f"{entry.file} (recipe {entry.name!r}, phase {spec.name!r})"
    init = None
    if spec.init_from is not None:
        j = [p.name for p in phases].index(spec.init_from)
        init = dirs[j] / "checkpoints" / f"ckpt-{phases[j].steps:08d}.pt"
        pdata.setdefault("train", {})["init_from"] = str(init)  # the trainer's own keys (recorded in config.yaml)
    if spec.freeze:
        pdata.setdefault("train", {})["freeze"] = list(spec.freeze)
    try:
        cfg = load_config(None, [], data=pdata)
    except ConfigError as err:
        raise ConfigError(f"{key}: {err.key}", err.message, err.choices) from None
    check_phase(cfg, spec, f"{key}: phases[{index}]")
    return PhasePlan(spec, index, dirs[index], cfg, notes, init)
