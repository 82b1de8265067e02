"""``soups grid`` end to end on the tiny corpus: recipes × seeds run and are tested, a second invocation
skips finished cells, a crashed cell is reported while the others complete, an interrupted cell resumes,
a changed config is refused, and a weight search runs once and is reused."""

from __future__ import annotations

import json

import pytest
import yaml

from soups.cli import main
from soups.grid.plan import build_phase
from soups.grid.recipes import load_grid
from soups.grid.runner import run_grid
from tests.grid.helpers import write_grid

SEARCH = {"moo": {"mode": "linear"},
          "weight_search": {"by": "task", "steps": 1, "candidates": [{"asr": 1, "st": 1, "ssl": 1},
                                                                     {"asr": 1, "st": 1, "ssl": 0.1}]}}
VM = {"moo": {"mode": "faithful", "hierarchy": {"formulation": "vm", "levels": "uas", "weighting": "modo"}}}


@pytest.fixture(scope="module")
def grid_run(tiny_corpus, tmp_path_factory):
    root = tmp_path_factory.mktemp("grid")
    path = write_grid(root / "g", tiny_corpus, {"lin": SEARCH, "VM": VM},
                      {"steps": 2, "recipes": ["lin", "VM", {"name": "broken", "file": "recipe1.yaml",
                                                             "overrides": ["data.dir=/nonexistent/corpus"]}]})
    return root, path


def _run_cli(capsys, *argv) -> tuple[int, str]:
    rc = main(list(argv))
    return rc, capsys.readouterr().out


def test_grid_runs_skips_reports_crashes_and_reuses_the_search(grid_run, capsys):
    root, path = grid_run
    runs = root / "runs"
    rc, out = _run_cli(capsys, "grid", str(path), "--seeds", "2", "--out", str(runs))
    assert rc == 1  # the broken cells failed …
    assert "grid: 4 run, 0 skipped (finished), 2 failed" in out
    assert "FAILED broken seed 0" in out and "FAILED broken seed 1" in out
    for recipe in ("lin", "VM"):  # … and every other cell completed
        for seed in (0, 1):
            cell = runs / recipe / f"seed{seed}"
            assert (cell / "checkpoints" / "ckpt-00000002.pt").is_file()
            assert json.loads((cell / "eval" / "test" / "results.json").read_text())["objectives"]
            assert json.loads((cell / "cell.json").read_text())["status"] == "done"
    failed = json.loads((runs / "broken" / "seed0" / "cell.json").read_text())
    assert failed["status"] == "failed" and "/nonexistent/corpus" in failed["error"] and failed["traceback"]
    index = json.loads((runs / "grid.json").read_text())
    assert [r["name"] for r in index["recipes"]] == ["lin", "VM", "broken"] and index["seeds"] == [0, 1]

    search = json.loads((runs / "lin" / "weight-search" / "train" / "result.json").read_text())
    assert len(search["scores"]) == 2 and search["best"] == min(range(2), key=lambda k: (search["scores"][k], k))
    chosen = search["candidates"][search["best"]]
    for seed in (0, 1):  # both seeds train with the chosen weights; the search ran once (seed 0)
        cfg = yaml.safe_load((runs / "lin" / f"seed{seed}" / "config.yaml").read_text())
        ssl_w = next(o["weight"] for o in cfg["objectives"] if o["name"] == "ssl")
        assert ssl_w == pytest.approx(chosen["ssl"] / (3 + chosen["ssl"]))
    assert out.count("weight search train: candidate 1/2") == 1

    stamps = {p: p.stat().st_mtime_ns for p in runs.rglob("*") if p.is_file() and "broken" not in p.parts}
    rc, out = _run_cli(capsys, "grid", str(path), "--seeds", "2", "--out", str(runs))
    assert rc == 1 and "grid: 0 run, 4 skipped (finished), 2 failed" in out
    changed = [p for p, t in stamps.items() if p.exists() and p.stat().st_mtime_ns != t and p.name != "grid.json"
               and p.name not in ("recipe.json", ".lock")]
    assert changed == []


def test_a_cell_another_process_runs_is_left_to_it_and_run_once_it_is_free(grid_run, hold_elsewhere, capsys):
    root, path = grid_run
    runs = root / "busy"
    holder = hold_elsewhere(runs / "VM" / "seed0")   # e.g. a second `soups grid` over the same RUNS
    rc, out = _run_cli(capsys, "grid", str(path), "--seeds", "1", "--out", str(runs), "--recipes", "VM")
    assert rc == 0 and "busy (another process runs it: pid" in out
    assert "grid: 0 run, 0 skipped (finished), 1 left to the process running them, 0 failed" in out
    assert sorted(p.name for p in (runs / "VM" / "seed0").iterdir()) == [".lock"]   # untouched: no cell.json
    holder.kill()
    holder.wait()
    rc, out = _run_cli(capsys, "grid", str(path), "--seeds", "1", "--out", str(runs), "--recipes", "VM")
    assert rc == 0 and "grid: 1 run, 0 skipped (finished), 0 failed" in out


def test_the_weight_search_runs_in_its_seeds_cell_and_other_seeds_wait_for_it(tiny_corpus, tmp_path, capsys):
    """The search belongs to weight_search.seed's cell (default 0), whichever seed a grid reaches first."""
    search = {**SEARCH, "weight_search": {**SEARCH["weight_search"], "seed": 1}}
    path = write_grid(tmp_path / "g", tiny_corpus, {"lin": search}, {"steps": 2, "recipes": ["lin"]})
    runs = tmp_path / "runs"
    rc, out = _run_cli(capsys, "grid", str(path), "--seeds", "0,", "--out", str(runs))
    assert rc == 1 and "dev search that seed 1's cell runs" in out and "--seeds 1, --recipes 'lin'" in out
    assert not (runs / "lin" / "weight-search").exists()                 # nothing trained
    assert not (runs / "lin" / "seed0" / "checkpoints").exists()
    rc, out = _run_cli(capsys, "grid", str(path), "--seeds", "2", "--out", str(runs))   # seeds 0 and 1
    assert rc == 0 and "grid: 2 run, 0 skipped (finished), 0 failed" in out
    assert out.index("lin seed 1") < out.index("weight search train: candidate 1/2") < out.index("lin seed 0")
    result = json.loads((runs / "lin" / "weight-search" / "train" / "result.json").read_text())
    assert result["seed"] == 1
    bad = {**SEARCH, "weight_search": {**SEARCH["weight_search"], "seed": -1}}
    path = write_grid(tmp_path / "bad", tiny_corpus, {"lin": bad}, {"steps": 2, "recipes": ["lin"]})
    rc = main(["grid", str(path), "--seeds", "1", "--out", str(tmp_path / "dry"), "--dry-run"])
    assert rc == 2 and "weight_search.seed': expected the seed" in capsys.readouterr().err


def test_unknown_recipe_on_the_command_line_is_a_clear_error(grid_run, capsys):
    root, path = grid_run
    rc = main(["grid", str(path), "--seeds", "1", "--out", str(root / "x"), "--recipes", "lin,Nope"])
    err = capsys.readouterr().err
    assert rc == 2 and "unknown recipe 'Nope'" in err and "lin, VM, broken" in err


def test_dry_run_prints_the_plan(grid_run, capsys):
    root, path = grid_run
    rc, out = _run_cli(capsys, "grid", str(path), "--seeds", "0,3", "--out", str(root / "dry"), "--dry-run")
    assert rc == 0 and "VM seed 3 ->" in out and "moo.mode=faithful" in out
    assert "chosen by a dev search over 2 candidates" in out and not (root / "dry").exists()


def test_an_interrupted_cell_resumes_and_a_changed_config_is_refused(tiny_corpus, tmp_path):
    from soups.train.loop import run_training

    path = write_grid(tmp_path / "g", tiny_corpus, {"VM": VM}, {"steps": 2, "recipes": ["VM"]})
    grid = load_grid(path)
    plan = build_phase(grid, grid.recipes[0], 0, tmp_path / "runs", 0)
    run_training(plan.cfg, plan.exp_dir, stop_after=1, progress=False)  # "interrupted" after step 1
    assert not plan.final_checkpoint.is_file()
    [result] = run_grid(grid, [0], tmp_path / "runs", echo=lambda s: None)
    assert result.status == "done" and plan.final_checkpoint.is_file()
    steps = [json.loads(line)["step"] for line in (plan.exp_dir / "log.jsonl").read_text().splitlines()
             if '"loss/' in line]
    assert steps == [1, 2]  # resumed at step 2 (a restart would have logged step 1 twice)

    original = path.read_text()
    path.write_text(original + "overrides: [train.lr_heads=0.01]\n")
    [result] = run_grid(load_grid(path), [0], tmp_path / "runs", echo=lambda s: None)
    assert result.status == "failed" and "another config" in result.error and "train.lr_heads" in result.error
    path.write_text(original)  # back to the config it was trained with: finished, still "done"
    [result] = run_grid(load_grid(path), [0], tmp_path / "runs", echo=lambda s: None)
    assert result.status == "skipped"
    assert json.loads((plan.exp_dir / "cell.json").read_text())["status"] == "done"
