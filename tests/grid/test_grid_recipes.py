"""Grid and recipe files: the shipped ones plan cleanly; bases, phases, selectors, weights and every error
names its file and key. No training here."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest
import yaml

from soups.errors import ConfigError
from soups.grid import weights as weights_mod
from soups.grid.plan import build_phase
from soups.grid.recipes import load_grid, load_recipe_data, phase_steps, recipe_index, slug
from soups.grid.runner import parse_seeds, plan_cell, run_grid
from soups.grid.weights import apply_weights
from tests.grid.helpers import write_grid

SHIPPED = Path(__file__).parents[2] / "configs" / "grid"
CORPUS = "data/not-needed-for-planning"
PAPER_NAMES = ["PT+FT", "static", "joint w/o MOO", "PEFT", "linear", "VS", "VC", "VM-UAS", "VM-USA"]


def test_doctests():
    assert doctest.testmod(weights_mod).failed == 0


@pytest.mark.parametrize("grid_file", ["paper.yaml", "ablation.yaml", "cpu.yaml", "gender.yaml", "cpu_char.yaml", "converge.yaml"])
def test_shipped_grids_plan_every_cell(grid_file, tmp_path):
    grid = load_grid(SHIPPED / grid_file)
    lines = []
    assert run_grid(grid, [0, 1], tmp_path / "runs", dry_run=True, echo=lines.append) == []
    assert not (tmp_path / "runs").exists()  # a dry run writes nothing
    for entry in grid.recipes:
        assert any(line.startswith(f"{entry.name} seed 1 ->") for line in lines), entry.name


def test_paper_grid_has_the_papers_recipes_with_their_structure(tmp_path):
    grid = load_grid(SHIPPED / "paper.yaml")
    assert [e.name for e in grid.recipes] == PAPER_NAMES
    plans = {e.name: plan_cell(grid, e, 0, tmp_path) for e in grid.recipes}
    pt, ft = plans["PT+FT"]
    assert [o.task for o in pt.cfg.objectives] == ["ssl"] and ft.init_checkpoint is not None
    assert {o.weight for o in ft.cfg.objectives} == {1 / 9} and "ssl" not in [o.name for o in ft.cfg.objectives]
    peft = plans["PEFT"]
    assert [p.spec.freeze for p in peft] == [[], ["encoder"], ["encoder", "task:asr"]]
    joint = plans["joint w/o MOO"][0].cfg
    assert joint.moo.mode == "linear" and joint.moo.hierarchy["formulation"] == "vc"
    for name, levels in (("VM-UAS", "uas"), ("VM-USA", "usa")):
        h = plans[name][0].cfg.moo.hierarchy
        assert (h["formulation"], h["levels"], plans[name][0].cfg.moo.mode) == ("vm", levels, "faithful")
    assert plans["VS"][0].cfg.moo.hierarchy["formulation"] == "vs"
    assert all(p.cfg.train.max_steps == grid.steps for p in plans["VC"])
    assert [p.cfg.train.max_steps for p in peft] == [800, 600, 600]
    rates = load_recipe_data(SHIPPED / "vm_uas_ir002.yaml")["moo"]["hierarchy"]["penalties"]
    assert {p["increase"] for p in rates} == {0.002}


def test_level_mean_equals_the_hierarchy_static_weights():
    from soups.moo.hierarchy import Hierarchy

    objs = [{"name": n, "task": t, "lang": lg} for n, t, lg in
            [("a", "asr", "en"), ("b", "asr", "fr"), ("c", "st", "fr"), ("u", "ssl", None)]]
    data = {"objectives": objs, "moo": {"hierarchy": {"formulation": "vm", "levels": "uas"}}}
    apply_weights(data, "level_mean", "w")
    tags = {o["name"]: {"task": o["task"], "lang": o["lang"] or ""} for o in objs}
    h = Hierarchy({"formulation": "vm", "levels": "uas"}, ["a", "b", "c", "u"], ssl=["u"], tags=tags)
    scales = h.level_scales(epoch=3)
    static = h.static().static_weights(epoch=3).tolist()
    level = {"a": 0, "b": 0, "c": 1, "u": 2}
    assert [o["weight"] * scales[level[o["name"]]] for o in objs] == pytest.approx(static)


def test_the_asr_first_warm_up_down_weights_translation_early_then_equals_joint_training(tmp_path):
    """converge.yaml's causal check of VC's early λ: the same static weights as joint w/o MOO from epoch 15 on,
    translation at a quarter of them at epoch 0 and three quarters at epoch 10."""
    from torch import nn

    from soups.moo import MultiObjective

    grid = load_grid(SHIPPED / "converge.yaml")
    cfgs = {e.name: plan_cell(grid, e, 0, tmp_path)[0].cfg for e in grid.recipes
            if e.name in ("joint w/o MOO", "joint (ASR-first warm-up)")}

    def weights(cfg, epoch):   # the trainer's static weights: objective weight × level scale, at this epoch
        objs = cfg.objectives
        moo = MultiObjective([o.name for o in objs], nn.Linear(2, 2), cfg.moo.hierarchy, "linear",
                             ssl=[o.name for o in objs if o.task == "ssl"],
                             tags={o.name: {"task": o.task, "lang": o.lang or ""} for o in objs},
                             weights={o.name: o.weight for o in objs})
        moo.set_position(0, epoch)
        return dict(zip(moo.names, moo.static_weights().tolist()))

    joint, warm = cfgs["joint w/o MOO"], cfgs["joint (ASR-first warm-up)"]
    for epoch in (15, 40, 149):
        assert weights(warm, epoch) == pytest.approx(weights(joint, epoch))
    for epoch, share in ((0, 0.25), (10, 0.75)):
        w, j = weights(warm, epoch), weights(joint, epoch)
        assert w["st_fr_en"] == pytest.approx(share * j["st_fr_en"]) and w["asr_en"] == pytest.approx(j["asr_en"])


def test_weights_mean_and_by_lang():
    data = {"objectives": [{"name": "a", "task": "asr", "lang": "en"}, {"name": "b", "task": "asr", "lang": "fr"}]}
    apply_weights(data, "mean", "w")
    assert [o["weight"] for o in data["objectives"]] == [0.5, 0.5]
    apply_weights(data, {"by": "lang", "values": {"en": 3, "fr": 1}, "normalize": False}, "w")
    assert [o["weight"] for o in data["objectives"]] == [3.0, 1.0]
    with pytest.raises(ConfigError, match="no weight for lang 'fr'"):
        apply_weights(data, {"by": "lang", "values": {"en": 1}}, "w")


def test_base_chain_merges_and_a_cycle_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text("name: A\nbase: b.yaml\ntrain: {max_steps: 3}\n")
    (tmp_path / "b.yaml").write_text("name: B\ntrain: {seed: 1, max_steps: 9}\nmoo: {mode: fast}\n")
    assert load_recipe_data(tmp_path / "a.yaml") == {"name": "A", "train": {"seed": 1, "max_steps": 3},
                                                     "moo": {"mode": "fast"}}
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(ConfigError, match="circular base chain"):
        load_recipe_data(tmp_path / "a.yaml")


def test_unknown_recipe_names_are_clear_errors(tmp_path):
    path = write_grid(tmp_path / "g", CORPUS, {"A": {}}, {"steps": 2, "recipes": ["A", "Nope"]})
    with pytest.raises(ConfigError, match=r"recipes\[1\].*unknown recipe 'Nope'.*valid choices: A"):
        load_grid(path)
    path.write_text(yaml.safe_dump({"steps": 2, "recipes": ["A"]}))
    with pytest.raises(ConfigError, match="unknown recipe 'B'"):
        run_grid(load_grid(path), [0], tmp_path / "runs", recipes=["B"], dry_run=True)


@pytest.mark.parametrize("recipe, message", [
    ({"phases": [{"name": "p", "steps": 1, "bogus": 1}]}, r"phases\[0\]\.bogus.*unknown key"),
    ({"phases": [{"name": "p", "steps": 1.5}]}, r"phases\[0\]\.steps.*share of the step budget"),
    ({"phases": [{"name": "p", "steps": 1, "init_from": "previous"}]}, "the first phase has no previous"),
    ({"phases": [{"name": "p", "steps": 1}, {"name": "q", "steps": 1, "init_from": "x"}]}, "'x' is not an earlier"),
    ({"phases": [{"name": "p", "steps": 1, "objectives": ["task:gender"]}]}, "selector 'task:gender' matches no"),
    ({"moo": {"mode": "faithful"}, "phases": [{"name": "p", "steps": 1},
                                              {"name": "q", "steps": 1, "init_from": "p", "freeze": ["encoder"]}]},
     "needs moo.mode linear"),
    ({"phases": [{"name": "p", "steps": 1, "freeze": ["encoder"]}]}, "never trained: set init_from"),
    ({"moo": {"mode": "fast"}, "weights": "mean"}, "objective weights are used by moo.mode linear only"),
    ({"phases": [{"name": "p", "steps": 1}, {"name": "q", "steps": 1, "init_from": "p",
                                              "config": {"tokenizers": {"asr": {"vocab_size": 50}}}}]},
     "cannot change the tokenizers config"),
    ({"train": {"lr_heads": "fast"}}, r"train\.lr_heads"),
])
def test_recipe_errors_name_the_file_and_key(recipe, message, tmp_path):
    path = write_grid(tmp_path / "g", CORPUS, {"A": recipe}, {"steps": 4, "recipes": ["A"]})
    with pytest.raises(ConfigError, match=message) as err:
        run_grid(load_grid(path), [0], tmp_path / "runs", dry_run=True)
    assert "recipe0.yaml" in str(err.value) or "grid.yaml" in str(err.value)


def test_a_phase_without_some_languages_keeps_ssl_on_all_and_drops_their_data_settings(tmp_path):
    recipe = {"data": {"upsample": {"fr": 2, "en": 1}},
              "phases": [{"name": "pt", "steps": 0.5, "objectives": ["task:ssl"]},
                         {"name": "fr", "steps": 0.5, "init_from": "previous", "objectives": ["lang:fr"]}]}
    path = write_grid(tmp_path / "g", CORPUS, {"A": recipe}, {"steps": 4, "recipes": ["A"]})
    grid = load_grid(path)
    pt = build_phase(grid, grid.recipes[0], 3, tmp_path / "runs", 0)
    assert [(o.name, o.langs) for o in pt.cfg.objectives] == [("ssl", ["en", "fr"])]
    assert pt.cfg.data.upsample == {"fr": 2, "en": 1}  # the SSL stream still reads both languages
    plan = build_phase(grid, grid.recipes[0], 3, tmp_path / "runs", 1)
    assert [o.name for o in plan.cfg.objectives] == ["asr_fr", "st_fr_en"] and plan.cfg.data.upsample == {"fr": 2}
    assert any("data.upsample.en dropped" in n for n in plan.notes)
    assert (plan.cfg.train.seed, plan.cfg.train.max_steps) == (3, 2)
    assert plan.init_checkpoint == tmp_path / "runs" / "A" / "seed3" / "phases" / "0-pt" / "checkpoints" / \
        "ckpt-00000002.pt"


def test_small_helpers():
    assert parse_seeds("3") == [0, 1, 2] and parse_seeds("0,5") == [0, 5]
    with pytest.raises(ConfigError):
        parse_seeds("0,0")
    assert parse_seeds("0,") == [0]
    with pytest.raises(ConfigError, match=r"count of zero seeds.*--seeds 1 runs seed 0"):
        parse_seeds("0")
    assert phase_steps(0.25, 10, "k") == 2 and phase_steps(7, 10, "k") == 7
    assert slug("joint w/o MOO") == "joint-w-o-MOO" and slug("VM-UAS (IR=.002)") == "VM-UAS-IR=.002"
    assert set(recipe_index(SHIPPED)) >= set(PAPER_NAMES)


def test_gender_grid_has_the_rebuttals_columns_and_orders(tmp_path):
    grid = load_grid(SHIPPED / "gender.yaml")
    assert [e.name for e in grid.recipes] == ["PT+FT", "joint w/o MOO", "VS", "VC", "VM-UECG", "VM-UCEG"]
    plans = {e.name: plan_cell(grid, e, 0, tmp_path) for e in grid.recipes}
    ft = plans["PT+FT"][1].cfg
    assert [o.name for o in ft.objectives] == ["asr_en", "asr_zh", "gender_en"]      # `supervised` selects gender
    for name, first in (("VM-UECG", "asr_en"), ("VM-UCEG", "asr_zh")):
        h = plans[name][0].cfg.moo.hierarchy
        assert h["levels"][0] == [first] and h["levels"][2:] == [["gender_en"], ["ssl"]]
        assert len(h["penalties"]) == 3
