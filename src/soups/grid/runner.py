"""``soups grid GRID.yaml --seeds 3 --out RUNS``: every recipe × seed, trained phase by phase, then tested.

    soups grid configs/grid/paper.yaml --seeds 3 --out runs/grid --dry-run     # the plan, configs checked
    soups grid configs/grid/paper.yaml --seeds 3 --out runs/grid               # run (again: resumes)
    soups grid configs/grid/paper.yaml --seeds 0,1 --out runs/grid --recipes VS,VM-UAS

Before anything trains, every phase config of every cell is built and checked (a config error stops the
grid). Then, per cell (``RUNS/<recipe>/seed<N>/``): a finished cell (final checkpoint at its max_steps and
``eval/test/results.json``) is skipped; an interrupted phase is resumed; a finished phase is not retrained;
a cell whose saved config differs from the grid's fails with the differences (delete it to rerun); a cell
another ``soups grid`` is running is left to it (each cell is locked while it runs, so two grids over the same
RUNS share the work instead of training one cell twice). A crash
fails its cell (``cell.json`` holds the error and traceback) and the grid goes on; the summary lists the
failed cells and :func:`run_grid`'s caller exits non-zero.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

from soups import lock
from soups.atomic import atomic_write_text
from soups.errors import BusyError, CheckpointError, ConfigError, SoupsError
from soups.grid import phases as ph
from soups.grid.plan import PhasePlan, build_phase, cell_dir, recipe_data
from soups.grid.recipes import Grid, RecipeEntry, recipe_phases
from soups.grid.search import candidates, search_seed, stored_choice
from soups.train.checkpoint import latest_step


@dataclass
class CellResult:
    recipe: str
    seed: int
    dir: Path
    status: str                  # done | skipped | failed | busy
    error: str | None = None     # failed: the message; busy: who holds the cell
    seconds: float = 0.0


def parse_seeds(text: str) -> list[int]:
    """``"3"`` → [0, 1, 2]; ``"0,5"`` → [0, 5]."""
    try:
        if "," in text:
            seeds = [int(s) for s in text.split(",") if s.strip()]
        else:
            seeds = list(range(int(text)))
    except ValueError:
        raise ConfigError("--seeds", f"expected a count (3) or a list (0,5,7), got {text!r}") from None
    if not seeds:
        raise ConfigError("--seeds", f"{text!r} is a count of zero seeds; a number is a count (--seeds 1 runs seed 0) "
                                     "and a list names seeds (--seeds 0, or --seeds 0,5)")
    if len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ConfigError("--seeds", f"need distinct non-negative seeds, got {text!r}")
    return seeds


def plan_cell(grid: Grid, entry: RecipeEntry, seed: int, out: Path) -> list[PhasePlan]:
    """Every phase of a cell, configs checked (a pending weight search is checked with its first candidate)."""
    base = recipe_data(entry)
    plans = []
    for i, spec in enumerate(recipe_phases(base[1], entry.file, grid.steps)):
        weights, pending, owner = None, 0, None
        if spec.weight_search is not None:
            weights = stored_choice(out, entry.slug, spec.name)
            if weights is None:
                objs = [asdict(o) for o in build_phase(grid, entry, seed, out, i, base=base).cfg.objectives]
                by, cands, norm = candidates(spec.weight_search, objs, _search_key(entry, spec))
                weights, pending = {"by": by, "values": cands[0], "normalize": norm}, len(cands)
                owner = search_seed(spec.weight_search, _search_key(entry, spec))
        plan = build_phase(grid, entry, seed, out, i, weights, base)
        if pending:
            plan.notes.append(f"weights: chosen by a dev search over {pending} candidates in seed {owner}'s cell "
                              "(not run yet; checked with the first)")
        plans.append(plan)
    if len(plans) > 1:
        _check_shared_tokenizers(grid, entry, seed, base, plans)
    return plans


def _check_shared_tokenizers(grid, entry, seed, base, plans) -> None:
    """The phases of a recipe share one tokenizer set (made from the whole recipe): same tokenizer config."""
    from soups.config_schema import to_dict
    from soups.grid.plan import phase_data
    from soups.grid.recipes import PhaseSpec
    from soups.train.config import load_config

    data, _ = phase_data(grid, entry, base[0], PhaseSpec("all", 1), seed)
    full = to_dict(load_config(None, [], data=data).tokenizers)
    for p in plans:
        if to_dict(p.cfg.tokenizers) != full:
            raise ConfigError(f"{entry.file}: phases[{p.spec.name}].tokenizers", "the phases of a recipe share one "
                              "tokenizer set: a phase cannot change the tokenizers config")


def cell_finished(plans: list[PhasePlan]) -> bool:
    final = plans[-1]
    return final.final_checkpoint.is_file() and (final.exp_dir / "eval" / "test" / "results.json").is_file()


def check_saved_config(plan: PhasePlan) -> None:
    """A phase folder trained with another config is an error naming the differences."""
    from soups.train.config import config_diff, load_config
    from soups.train.loop import RESUMABLE_CHANGES

    saved = plan.exp_dir / "config.yaml"
    if saved.is_file():
        diff = config_diff(load_config(saved), plan.cfg, ignore=RESUMABLE_CHANGES)
        if diff:
            raise ConfigError(str(saved), "this run was made with another config (delete the folder to rerun it):"
                              "\n  " + "\n  ".join(diff))


def run_phase(plan: PhasePlan, shared: Path | None, progress: bool) -> None:
    """Train one phase to its max_steps (resuming it if it was interrupted; nothing to do if finished)."""
    from soups.eval.dev import evaluate_dev
    from soups.train.loop import run_training

    check_saved_config(plan)
    if plan.final_checkpoint.is_file():
        return
    if shared is not None:
        ph.share_files(shared, plan.exp_dir)
    init = plan.init_checkpoint
    if init is not None and not init.is_file():
        raise CheckpointError(f"phase {plan.spec.name!r} starts from {init}, which does not exist (the phase it "
                              "starts from did not finish)")
    run_training(plan.cfg, plan.exp_dir, resume=(plan.exp_dir / "config.yaml").is_file(), progress=progress,
                 dev_eval=evaluate_dev)


def prepare_shared(grid: Grid, entry: RecipeEntry, seed: int, out: Path, base: tuple[dict, dict]) -> Path | None:
    """Multi-phase cells: the tokenizers and CMVN of the whole recipe (all its objectives), made once in the
    cell folder and copied into every phase, so that encoder and heads carry over between phases."""
    from soups.grid.plan import phase_data
    from soups.grid.recipes import PhaseSpec
    from soups.train import build
    from soups.train.config import load_config

    if len(recipe_phases(base[1], entry.file, grid.steps)) == 1:
        return None
    cell = cell_dir(out, entry, seed)
    if all((cell / name).is_file() for name in ph.SHARED_FILES):
        return cell
    data, _ = phase_data(grid, entry, base[0], PhaseSpec("all", 1), seed)
    cfg = load_config(None, [], data=data)
    cell.mkdir(parents=True, exist_ok=True)
    build.build_tokenizers(cfg, cell)
    build.build_cmvn(cfg, cell)
    return cell


def _status(cell: Path, entry: RecipeEntry, seed: int, status: str, **extra) -> None:
    cell.mkdir(parents=True, exist_ok=True)
    record = {"recipe": entry.name, "file": str(entry.file), "seed": seed, "status": status,
              "time": time.strftime("%Y-%m-%d %H:%M:%S"), **extra}
    atomic_write_text(cell / "cell.json", json.dumps(record, indent=1))


def _train_cell(grid, entry, seed, out, progress, echo) -> dict:
    from soups.eval.experiment import evaluate_experiment
    from soups.grid.search import run_search

    base = recipe_data(entry)
    specs = recipe_phases(base[1], entry.file, grid.steps)
    for spec in specs:  # before training anything: a search another seed's cell owes stops this cell
        _check_search_owner(entry, spec, seed, pending_search_owner(entry, spec, out))
    shared = prepare_shared(grid, entry, seed, out, base)
    for i, spec in enumerate(specs):
        weights = None
        if spec.weight_search is not None:
            weights = stored_choice(out, entry.slug, spec.name) or run_search(
                lambda w: build_phase(grid, entry, seed, out, i, w, base),  # noqa: B023 (called right here)
                lambda p: run_phase(p, shared, progress), out, entry.slug, spec, echo)
        plan = build_phase(grid, entry, seed, out, i, weights, base)
        echo(f"    phase {i + 1}/{len(specs)} {spec.name}: {spec.steps} steps -> {plan.exp_dir}")
        run_phase(plan, shared, progress)
    results = evaluate_experiment(cell_dir(out, entry, seed), "test", grid.checkpoint,
                                  max_utterances=grid.test_utterances)
    return results.get("average", {})


def _search_key(entry: RecipeEntry, spec) -> str:
    return f"{entry.file}: phases[{spec.name}].weight_search"


def pending_search_owner(entry: RecipeEntry, spec, out: Path) -> int | None:
    """The seed whose cell owes this phase's weight search (``soups.grid.search``), or None when the phase has
    no search or its choice is stored."""
    if spec.weight_search is None or stored_choice(out, entry.slug, spec.name) is not None:
        return None
    return search_seed(spec.weight_search, _search_key(entry, spec))


def _check_search_owner(entry: RecipeEntry, spec, seed: int, owner: int | None) -> None:
    """A pending search runs in its owner's cell; another seed waits for it."""
    if owner is not None and seed != owner:
        raise SoupsError(f"recipe {entry.name!r}, phase {spec.name!r}: its weights come from the dev search that "
                         f"seed {owner}'s cell runs (weight_search.seed), and it has not run yet: run seed {owner} "
                         f"first (soups grid GRID --seeds {'1' if owner == 0 else f'{owner},'} --recipes "
                         f"'{entry.name}'), then this seed")


def run_cell(grid: Grid, entry: RecipeEntry, seed: int, out: Path, progress: bool = False,
             echo=print) -> CellResult:
    """Train (or resume) and test one cell; a crash is caught, recorded in ``cell.json`` and returned.
    A finished cell is left as it is (a config that changed since is reported, not recorded); a cell that
    another process is running (it holds the cell's lock, :mod:`soups.lock`) is left to it: status ``busy``."""
    cell = cell_dir(out, entry, seed)
    try:
        with lock.hold(cell):
            return _run_locked_cell(grid, entry, seed, out, cell, progress, echo)
    except BusyError as err:
        return CellResult(entry.name, seed, cell, "busy", err.holder)


def _run_locked_cell(grid: Grid, entry: RecipeEntry, seed: int, out: Path, cell: Path, progress: bool,
                     echo) -> CellResult:
    t0, finished = time.time(), False
    try:
        plans = plan_cell(grid, entry, seed, out)
        finished = cell_finished(plans)
        if finished:
            check_saved_config(plans[-1])
            status = cell / "cell.json"
            if not status.is_file() or json.loads(status.read_text()).get("status") != "done":
                _status(cell, entry, seed, "done", note="found finished")
            return CellResult(entry.name, seed, cell, "skipped")
        _status(cell, entry, seed, "running")
        average = _train_cell(grid, entry, seed, out, progress, echo)
    except Exception as err:  # noqa: BLE001 — a crashed cell must not stop the grid
        message = str(err) if isinstance(err, SoupsError) else f"{type(err).__name__}: {err}"
        if not finished:
            _status(cell, entry, seed, "failed", error=message, traceback=traceback.format_exc())
        return CellResult(entry.name, seed, cell, "failed", message, time.time() - t0)
    _status(cell, entry, seed, "done", test_average=average, seconds=round(time.time() - t0, 1))
    return CellResult(entry.name, seed, cell, "done", None, time.time() - t0)


def describe_cell(entry: RecipeEntry, seed: int, plans: list[PhasePlan]) -> list[str]:
    """Dry-run lines of one cell: where it runs, its state, and per phase what differs from the defaults."""
    state = "finished (skipped)" if cell_finished(plans) else "to run"
    lines = [f"{entry.name} seed {seed} -> {plans[-1].exp_dir}: {state}"]
    for p in plans:
        cfg, last = p.cfg, latest_step(p.exp_dir / "checkpoints")
        phase_state = "done" if p.final_checkpoint.is_file() else f"resume from step {last}" if last else "new"
        hier = cfg.moo.hierarchy or {"formulation": "vs (default)"}
        lines.append(f"  phase {p.index + 1}/{len(plans)} {p.spec.name}: {cfg.train.max_steps} steps, {phase_state}; "
                     f"moo.mode={cfg.moo.mode}, hierarchy={hier}; objectives {[o.name for o in cfg.objectives]}")
        if p.init_checkpoint is not None:
            lines.append(f"    init_from: {p.init_checkpoint}")
        if p.spec.freeze:
            lines.append(f"    freeze: {p.spec.freeze}")
        lines += [f"    {note}" for note in p.notes]
    return lines


def _search_owners_first(entry: RecipeEntry, seeds: list[int], plans: list[PhasePlan], out: Path) -> list[int]:
    """``seeds`` with those whose cell owes a pending weight search first (the others wait for its choice)."""
    owners = {pending_search_owner(entry, p.spec, out) for p in plans}
    return sorted(seeds, key=lambda s: s not in owners)


def write_index(out: Path, grid: Grid, entries: list[RecipeEntry], seeds: list[int]) -> None:
    """``RUNS/grid.json`` (recipe order and display names for the report) and ``RUNS/<slug>/recipe.json``."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "grid.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    recipes = [{"name": e.name, "slug": e.slug} for e in entries]
    recipes += [r for r in old.get("recipes", []) if r["slug"] not in {e.slug for e in entries}]
    index = {"grid": str(grid.path), "steps": grid.steps, "recipes": recipes,
             "seeds": sorted(set(old.get("seeds", [])) | set(seeds))}
    atomic_write_text(path, json.dumps(index, indent=1))
    for e in entries:
        (out / e.slug).mkdir(exist_ok=True)
        atomic_write_text(out / e.slug / "recipe.json", json.dumps({"name": e.name, "file": str(e.file)}, indent=1))


def run_grid(grid: Grid, seeds: list[int], out: str | Path, recipes: list[str] | None = None,
             dry_run: bool = False, progress: bool = False, echo=print) -> list[CellResult]:
    """Check every cell's configs, then (unless ``dry_run``) run the cells one after another."""
    out = Path(out)
    entries = [grid.entry(n) for n in recipes] if recipes else list(grid.recipes)
    plans = {(e.name, s): plan_cell(grid, e, s, out) for e in entries for s in seeds}  # config errors stop here
    cells = [(e, s) for e in entries for s in _search_owners_first(e, seeds, plans[(e.name, seeds[0])], out)]
    if dry_run:
        for e, s in cells:
            for line in describe_cell(e, s, plans[(e.name, s)]):
                echo(line)
        return []
    write_index(out, grid, entries, seeds)
    results = []
    for n, (e, s) in enumerate(cells, 1):
        echo(f"[{n}/{len(cells)}] {e.name} seed {s}")
        r = run_cell(grid, e, s, out, progress, echo)
        echo(f"    {r.status}" + (f" in {r.seconds:.1f} s" if r.status == "done" else "")
             + (f" (another process runs it: {r.error})" if r.status == "busy"
                else f": {r.error.splitlines()[0]}" if r.error else ""))
        results.append(r)
    failed = [r for r in results if r.status == "failed"]
    busy = sum(r.status == "busy" for r in results)
    echo(f"grid: {sum(r.status == 'done' for r in results)} run, {sum(r.status == 'skipped' for r in results)} "
         f"skipped (finished), " + (f"{busy} left to the process running them, " if busy else "")
         + f"{len(failed)} failed")
    for r in failed:
        echo(f"  FAILED {r.recipe} seed {r.seed}: {r.error.splitlines()[0]}  (details: {r.dir / 'cell.json'})")
    return results
