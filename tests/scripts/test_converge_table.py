"""scripts/converge_table.py --seeds: mean ± sample std over the seeds whose cells finished their whole
schedule; a cut or unfinished cell is listed, never averaged in (a handmade grid folder)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "converge_table.py"


def cell(root: Path, recipe: str, seed: int, status: str, wer: float, bleu: float, trained: int) -> None:
    d = root / recipe.replace(" ", "-") / f"seed{seed}"
    d.mkdir(parents=True)
    (d / "cell.json").write_text(json.dumps({"recipe": recipe, "status": status,
                                             "test_average": {"wer": wer, "bleu": bleu}}))
    (d / "config.yaml").write_text("train:\n  max_steps: 300\n")
    (d / "log.jsonl").write_text("".join(json.dumps({"step": s, "dev/average_wer": 50.0, "dev/average_bleu": 10.0})
                                         + "\n" for s in range(100, trained + 1, 100)))


def test_mean_and_std_over_finished_seeds_only(tmp_path):
    (tmp_path / "grid.json").write_text(json.dumps({"recipes": [{"slug": "lin"}, {"slug": "moo"}]}))
    cell(tmp_path, "lin", 0, "done", 30.0, 50.0, 300)
    cell(tmp_path, "lin", 1, "done", 34.0, 54.0, 300)
    cell(tmp_path, "lin", 2, "done", 90.0, 1.0, 200)          # cut at 200 of 300: not averaged
    cell(tmp_path, "moo", 0, "running", 0.0, 0.0, 100)
    out = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path), "--seeds", "0,1,2"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in out.stdout.splitlines()[2:]}
    assert rows["lin"][:3] == ["2 of 3", "32.0 ± 2.8", "52.0 ± 2.8"]      # sample std of (30, 34) = 2.83
    assert rows["lin"][3] == "30.0/50.0, 34.0/54.0, (cut)"
    assert rows["moo"][0] == "0 of 3" and rows["moo"][3] == "(running)"


def test_plain_experiments_and_mean_dev_curves(tmp_path):
    """No grid.json, no cell.json: a cell is finished when `soups eval --split test` wrote its results; the
    --curves table averages the dev points of the finished seeds only, at the steps they share."""
    for seed, (wer, bleu, dev) in enumerate([(30.0, 50.0, 40.0), (34.0, 56.0, 44.0), (None, None, 99.0)]):
        d = tmp_path / "scratch" / f"seed{seed}"
        d.mkdir(parents=True)
        (d / "config.yaml").write_text("train:\n  max_steps: 200\n")
        (d / "log.jsonl").write_text("".join(json.dumps({"step": s, "dev/average_wer": dev + s / 100,
                                                         "dev/average_bleu": 10.0}) + "\n" for s in (100, 200)))
        if wer is not None:
            (d / "eval" / "test").mkdir(parents=True)
            (d / "eval" / "test" / "results.json").write_text(json.dumps({"average": {"wer": wer, "bleu": bleu}}))
    out = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path), "--seeds", "0,1,2", "--curves"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [c.strip() for c in lines[2].split("|")[1:-1]] == ["scratch", "2 of 3", "32.0 ± 2.8", "53.0 ± 4.2",
                                                              "30.0/50.0, 34.0/56.0, (not evaluated)"]
    assert [c.strip() for c in lines[4].split("|")[1:-1]] == ["dev WER / BLEU at step (mean over seeds)", "100", "200"]
    assert [c.strip() for c in lines[6].split("|")[1:-1]] == ["scratch (2 seeds)", "43.0 / 10.0", "44.0 / 10.0"]


def test_a_report_fills_the_seeds_without_a_cell_and_a_cell_wins(tmp_path):
    """--report: an earlier report.json's recorded runs stand in for cells this folder does not hold."""
    (tmp_path / "grid.json").write_text(json.dumps({"recipes": [{"slug": "lin"}]}))
    cell(tmp_path, "lin", 2, "done", 40.0, 60.0, 300)
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"seeds": [0, 1, 2], "runs": {
        "lin": [{"average": {"wer": 30.0, "bleu": 50.0}}, None, {"average": {"wer": 99.0, "bleu": 9.0}}],
        "old": [{"average": {"wer": 20.0, "bleu": 70.0}}, {"average": {"wer": 22.0, "bleu": 72.0}}, None]}}))
    out = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path), "--seeds", "0,1,2", "--report", str(report)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in out.stdout.splitlines()[2:]}
    assert rows["lin"] == ["2 of 3", "35.0 ± 7.1", "55.0 ± 7.1", "30.0/50.0, 40.0/60.0"]   # seed 2: the cell's
    assert rows["old"] == ["2 of 3", "21.0 ± 1.4", "71.0 ± 1.4", "20.0/70.0, 22.0/72.0"]
