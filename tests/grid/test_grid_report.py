"""``soups report`` on a fabricated RUNS tree with known results: exact mean ± std, missing and incompatible
cells marked (never invented), the right cells bold, the ablation table, significance, valid PNGs, CSVs."""

from __future__ import annotations

import csv
import json
import random

import matplotlib.image
import pytest

from soups.cli import main
from soups.grid.plots import mean_series, phase_series
from soups.grid.report import write_report
from soups.train.config import config_to_yaml, load_config
from tests.grid.helpers import base_config

PNG = b"\x89PNG\r\n\x1a\n"
WORDS = "the a cat dog sat ran on under mat house red blue small big".split()
# recipe -> seed -> (asr_en WER, asr_fr WER, st_fr_en BLEU)
VALUES = {"PT+FT": {0: (30, 40, 10), 1: (32, 40, 12), 2: (34, 40, 14)},
          "VM-UAS": {0: (20, 35, 20), 1: (22, 36, 20), 2: (24, 37, 20)},
          "VS": {0: (25, 30, 15), 1: (27, 30, 16)},
          "VM-UAS (IR=.002)": {0: (28, 38, 18), 1: (28, 38, 18), 2: (28, 38, 18)}}
MOO = {"PT+FT": {"mode": "linear"}, "VS": {"mode": "faithful", "hierarchy": {"formulation": "vs"}},
       "VM-UAS": {"mode": "faithful", "hierarchy": {"formulation": "vm", "levels": "uas"}},
       "VM-UAS (IR=.002)": {"mode": "faithful", "hierarchy": {"formulation": "vm", "levels": "uas", "penalties": [
           {"initial": 0.1, "increase": 0.002, "cap": 1.5}, {"initial": 0.0, "increase": 0.002, "cap": 1.5}]}}}


def _hyps(recipe: str, refs: list[str]) -> list[str]:
    """VM-UAS (and its IR=.002 twin): perfect; PT+FT: one wrong word everywhere; VS: every other utterance."""
    if recipe.startswith("VM-UAS"):
        return list(refs)
    every = 1 if recipe == "PT+FT" else 2
    return [r if i % every else "zebra " + " ".join(r.split()[1:]) for i, r in enumerate(refs)]


def _cell(runs, recipe, slug, seed, values):
    cell = runs / slug / f"seed{seed}"
    (cell / "eval" / "test").mkdir(parents=True)
    data = base_config("data/x") | {"moo": MOO[recipe]}
    (cell / "config.yaml").write_text(config_to_yaml(load_config(None, [], data=data)))
    rng = random.Random(seed)
    objs = {}
    for (name, task, lang, metric), value in zip([("asr_en", "asr", "en", "wer"), ("asr_fr", "asr", "fr", "wer"),
                                                  ("st_fr_en", "st", "fr", "bleu")], values):
        refs = [" ".join(rng.choice(WORDS) for _ in range(6)) for _ in range(30)]
        for kind, lines in (("ref", refs), ("hyp", _hyps(recipe, refs))):
            (cell / "eval" / "test" / f"{name}.{kind}.txt").write_text("".join(x + "\n" for x in lines))
        objs[name] = {"task": task, "language": lang, "metric": metric, "value": float(value), "utterances": 30}
    (cell / "eval" / "test" / "results.json").write_text(json.dumps({"objectives": objs, "average": {}}))
    log = [{"step": s, "loss/asr_en": 10.0 - s - seed, "dev/average_wer": 50.0 - s - seed} for s in (1, 2, 3)]
    (cell / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    slugs = {"PT+FT": "PT+FT", "VM-UAS": "VM-UAS", "VS": "VS", "VM-UAS (IR=.002)": "VM-UAS-IR=.002"}
    for recipe, seeds in VALUES.items():
        (runs / slugs[recipe]).mkdir()
        (runs / slugs[recipe] / "recipe.json").write_text(json.dumps({"name": recipe}))
        for seed, values in seeds.items():
            _cell(runs, recipe, slugs[recipe], seed, values)
    crashed = runs / "VS" / "seed2"
    crashed.mkdir()
    (crashed / "config.yaml").write_text((runs / "VS" / "seed0" / "config.yaml").read_text())
    (crashed / "cell.json").write_text(json.dumps({"status": "failed", "error": "RuntimeError: boom\ntrace"}))
    old = runs / "old" / "seed0"
    _cell(runs, "PT+FT", "old", 0, (1, 1, 99))  # excellent numbers — but from an incompatible version
    (old / "config.yaml").write_text("objectives: []\nretired_option: 3\n")
    pt_phase = runs / "PT+FT" / "seed0" / "phases" / "0-pt"
    pt_phase.mkdir(parents=True)
    (pt_phase / "log.jsonl").write_text("".join(json.dumps({"step": s, "loss/ssl": 5.0 - s}) + "\n" for s in (1, 2)))
    (runs / "grid.json").write_text(json.dumps({"recipes": [{"slug": s} for s in
                                                            ["PT+FT", "VS", "VM-UAS", "VM-UAS-IR=.002"]]}))
    out = runs / "report"
    data = write_report(runs, out, reference="VM-UAS", baseline="PT+FT", samples=300, resources=False)
    return runs, out, data


def _md_rows(md: str, title: str) -> dict[str, list[str]]:
    block = md.split(f"### {title}")[1].split("###")[0]
    rows = [line.strip("|").split("|") for line in block.splitlines() if line.startswith("| ")]
    return {r[0].strip(): [c.strip() for c in r[1:]] for r in rows}


def test_tables_have_exact_mean_std_missing_marks_and_bold_best(report):
    _, out, data = report
    md = (out / "report.md").read_text()
    t1 = _md_rows(md, "Table 1")
    assert t1["Language"] == ["PT+FT", "VS", "VM-UAS", "VM-UAS (IR=.002)", "old"]  # grid order, then others
    assert t1["en"] == ["32.00 ± 2.00", "26.00 ± 1.41 (n=2)", "**22.00 ± 2.00**", "28.00 ± 0.00", "—"]
    assert t1["fr"] == ["40.00 ± 0.00", "**30.00 ± 0.00 (n=2)**", "36.00 ± 1.00", "38.00 ± 0.00", "—"]
    assert t1["Average"] == ["36.00 ± 1.00", "**28.00 ± 0.71 (n=2)**", "29.00 ± 1.50", "33.00 ± 0.00", "—"]
    t2 = _md_rows(md, "Table 2")
    assert t2["fr"] == ["12.00 ± 2.00", "15.50 ± 0.71 (n=2)", "**20.00 ± 0.00**", "18.00 ± 0.00", "—"]
    summary = _md_rows(md, "Summary")
    assert summary["WER change vs PT+FT (%, + = better)"][:3] == ["+0.0", "+22.2", "+19.4"]
    assert summary["evaluated seeds"] == ["3/3", "2/3", "3/3", "3/3", "0/3"]
    assert any("old seed 0: config.yaml does not load with this version" in p for p in data["problems"])
    assert any(p.startswith("VS seed 2: failed: RuntimeError: boom") for p in data["problems"])
    with open(out / "table1_wer.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Language", "PT+FT", "VS", "VM-UAS", "VM-UAS (IR=.002)", "old"]
    assert rows[1] == ["en", "32.00 ± 2.00", "26.00 ± 1.41 (n=2)", "22.00 ± 2.00", "28.00 ± 0.00", "—"]
    assert (out / "table2_bleu.csv").is_file() and (out / "summary.csv").is_file()


def test_penalty_rate_ablation_table(report):
    _, out, _ = report
    t3 = _md_rows((out / "report.md").read_text(), "Table 3")
    assert t3["Language"] == ["PT+FT", "VM-UAS (IR=0.02)", "VM-UAS (IR=.002)"]
    assert t3["Average"] == ["36.00 ± 1.00", "**29.00 ± 1.50**", "33.00 ± 0.00"]
    assert (out / "ablation_wer.csv").is_file() and (out / "ablation_bleu.csv").is_file()


def test_significance_of_the_reference_against_each_baseline(report):
    _, out, data = report
    sig = data["significance"]
    wer, _ = sig["PT+FT"]["wer"]
    assert wer["a"] == 0.0 and wer["b"] > 10 and wer["p"] == 0.0 and wer["seeds"] == [0, 1, 2]
    assert wer["utterances"] == 2 * 3 * 30 and wer["strata"] == 2
    bleu, _ = sig["PT+FT"]["bleu"]
    assert bleu["a"] == pytest.approx(100.0) and bleu["p"] == 0.0
    twin, _ = sig["VM-UAS (IR=.002)"]["wer"]
    assert twin["delta"] == 0.0 and twin["p"] == 0.5  # identical outputs
    vs, _ = sig["VS"]["wer"]
    assert vs["seeds"] == [0, 1]  # pooled over the seeds both have
    assert sig["old"]["wer"][0] is None and "no seed evaluated for both" in sig["old"]["wer"][1]
    with open(out / "significance.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["Baseline", "Metric", "VM-UAS"] and len(rows) == 1 + 2 * 4


def test_figures_are_valid_pngs(report):
    _, out, _ = report
    for name in ("radar.png", "curves.png", "dev_curves.png"):
        path = out / name
        assert path.read_bytes()[:8] == PNG
        img = matplotlib.image.imread(path)
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100


def test_dev_curves_are_the_mean_over_seeds_with_a_min_max_band():
    from soups.grid.plots import band_series

    seeds = [phase_series([[{"step": 10, "dev/average_wer": 40.0}, {"step": 20, "dev/average_wer": 30.0}]], "dev/"),
             phase_series([[{"step": 10, "dev/average_wer": 50.0}]], "dev/")]
    assert band_series(seeds)["average_wer"] == ([10, 20], [45.0, 30.0], [40.0, 30.0], [50.0, 30.0])


def test_training_curves_follow_the_phases():
    logs = [[{"step": 1, "loss/ssl": 4.0}, {"step": 2, "loss/ssl": 3.0}],
            [{"step": 1, "loss/asr": 9.0}, {"step": 2, "loss/asr": 8.0, "dev/x": 1}]]
    series = phase_series(logs)
    assert series == {"ssl": {1: 4.0, 2: 3.0}, "asr": {3: 9.0, 4: 8.0}}
    assert mean_series([series, {"asr": {3: 7.0}}])["asr"] == ([3, 4], [8.0, 8.0])


def test_report_cli_and_a_folder_without_runs(report, tmp_path, capsys):
    runs, _, _ = report
    assert main(["report", str(runs), "--out", str(tmp_path / "r"), "--no-resources", "--bootstrap", "50"]) == 0
    out = capsys.readouterr().out
    assert "missing: old seed 0" in out and (tmp_path / "r" / "report.md").is_file()
    assert main(["report", str(tmp_path / "empty-nothing")]) == 2
    assert "not a folder of grid runs" in capsys.readouterr().err


def test_resources_of_a_trained_run(tiny_exp):
    from soups.grid.resources import measure_resources, resource_rows

    res = measure_resources(tiny_exp, repeats=1)
    assert [s["objective"] for s in res["single"]] == ["asr_en", "asr_fr", "st_fr_en"]
    one = res["single"][0]["parameters"]
    assert res["multi"]["parameters"] < res["single_total"]["parameters"] == sum(s["parameters"] for s in res["single"])
    assert res["multi"]["parameters"] > one and res["multi"]["bytes"] > 0
    header, rows = resource_rows(res)
    assert header[2] == "3 single-objective models" and rows[0][0] == "Parameters (M)"


def test_a_grid_without_translation_gets_no_bleu_rows_and_a_gender_table(tmp_path):
    """The rebuttal's setting (ASR + gender): significance only for WER, the gender accuracy table present."""
    runs = tmp_path / "runs"
    for recipe, acc in (("PT+FT", 90.0), ("VM-UECG", 95.0)):
        (runs / recipe).mkdir(parents=True)
        (runs / recipe / "recipe.json").write_text(json.dumps({"name": recipe}))
        cell = runs / recipe / "seed0"
        (cell / "eval" / "test").mkdir(parents=True)
        data = base_config("data/x") | {"moo": MOO["PT+FT"]}
        (cell / "config.yaml").write_text(config_to_yaml(load_config(None, [], data=data)))
        refs = ["the cat sat", "a dog ran"]
        for kind, lines in (("ref", refs), ("hyp", _hyps("PT+FT" if recipe == "PT+FT" else "VM-UAS", refs))):
            (cell / "eval" / "test" / f"asr_en.{kind}.txt").write_text("".join(x + "\n" for x in lines))
        objs = {"asr_en": {"task": "asr", "language": "en", "metric": "wer", "value": 50.0, "utterances": 2},
                "gender_en": {"task": "gender", "language": "en", "metric": "accuracy", "value": acc}}
        (cell / "eval" / "test" / "results.json").write_text(json.dumps({"objectives": objs, "average": {}}))
    data = write_report(runs, runs / "report", reference="VM-UECG", samples=50, resources=False)
    assert list(data["significance"]["PT+FT"]) == ["wer"]
    md = (runs / "report" / "report.md").read_text()
    assert "| PT+FT | BLEU |" not in md and "Gender accuracy (%)" in md and "**95.00**" in md
