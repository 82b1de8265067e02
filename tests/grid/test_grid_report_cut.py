"""A run whose training was cut (``train.max_minutes``) is never mixed silently into a table: the report
lists it as cut and its cells say how many seeds were left out; the demo table says so too."""

import json

import matplotlib.image

from soups.eval.report import comparison_rows, markdown_table, side_by_side
from soups.grid.report import write_report
from soups.train.config import config_to_yaml, load_config
from tests.grid.helpers import base_config


def _cell(runs, recipe, seed, wer, training):
    cell = runs / recipe / f"seed{seed}"
    (cell / "eval" / "test").mkdir(parents=True)
    (runs / recipe / "recipe.json").write_text(json.dumps({"name": recipe}))
    (cell / "config.yaml").write_text(config_to_yaml(load_config(None, [], data=base_config("data/x"))))
    objs = {"asr_en": {"task": "asr", "language": "en", "metric": "wer", "value": wer, "utterances": 1}}
    (cell / "eval" / "test" / "asr_en.ref.txt").write_text("a b\n")
    (cell / "eval" / "test" / "asr_en.hyp.txt").write_text("a b\n")
    (cell / "eval" / "test" / "results.json").write_text(json.dumps({"objectives": objs, "average": {},
                                                                     "training": training}))
    (cell / "log.jsonl").write_text(json.dumps({"step": 5, "dev/average_wer": wer}) + "\n")


def test_cut_cells_are_left_out_and_marked(tmp_path):
    runs = tmp_path / "runs"
    done = {"steps": 100, "max_steps": 100, "cut": False}
    _cell(runs, "linear", 0, 20.0, done)
    _cell(runs, "linear", 1, 30.0, done)
    _cell(runs, "VS", 0, 10.0, done)
    _cell(runs, "VS", 1, 90.0, {"steps": 37, "max_steps": 100, "cut": True})   # would skew the mean
    data = write_report(runs, runs / "report", reference="VS", baseline="linear", samples=20, resources=False)
    assert "VS seed 1: cut at step 37 of 100 (train.max_minutes or an interrupted run): left out of the tables" \
        in data["problems"]
    md = (runs / "report" / "report.md").read_text()
    assert "| en | **10.00 (n=1, 1 cut)** | 25.00 ± 7.07 |" in md  # recipes alphabetically (no grid.json)
    assert data["runs"]["VS"] == [data["runs"]["VS"][0], None]
    img = matplotlib.image.imread(runs / "report" / "dev_curves.png")
    assert img.shape[0] > 100


def test_comparison_rows_count_cut_seeds():
    r = {"objectives": {"a": {"task": "asr", "language": "fr", "metric": "wer", "value": 12.0}}}
    _, rows, _ = comparison_rows({"x": [r, {"objectives": {}, "cut": True}, {"objectives": {}}]})
    assert rows[0] == ["fr", "12.00 (n=1, 1 cut)"]


def test_a_cut_demo_table_says_so_and_greedy_sits_beside_the_lm_decoding():
    res = lambda v, training=None: {"objectives": {  # noqa: E731
        "asr_fr": {"task": "asr", "language": "fr", "metric": "wer", "value": v},
        "st_fr_en": {"task": "st", "language": "fr", "metric": "bleu", "value": 100 - v}}, "training": training}
    cut = {"steps": 998, "max_steps": 1000, "cut": True}
    assert "Training was cut at step 998 of 1000" in markdown_table(res(5.0, cut))
    assert "cut" not in markdown_table(res(5.0, {"steps": 1000, "max_steps": 1000, "cut": False}))
    table = side_by_side({"beam + LM": res(5.0, cut), "greedy": res(9.0, cut)}).splitlines()
    assert table[0] == ("| Language | ASR WER (%), beam + LM | ASR WER (%), greedy | ST BLEU (X→En), beam + LM | "
                        "ST BLEU (X→En), greedy |")
    assert table[2] == "| fr | 5.00 | 9.00 | 95.00 | 91.00 |"
    assert sum("Training was cut" in line for line in table) == 1
