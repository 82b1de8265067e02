"""Result tables: layout, averages recomputed from values, best-per-row bold, mean ± std, CSV."""

from __future__ import annotations

import csv
import doctest
import statistics

import pytest
import torch

from soups.eval import report
from soups.eval.report import comparison_table, markdown_table, write_csv

torch.set_num_threads(1)


def _obj(task, lang, metric, value):
    return {"task": task, "language": lang, "metric": metric, "value": value}


def _results(scale=1.0):
    objs = {
        "asr_en": _obj("asr", "en", "wer", 10.0 * scale),
        "asr_fr": _obj("asr", "fr", "wer", 20.0 * scale),
        "asr_zh": _obj("asr", "zh", "cer", 15.0 * scale),
        "st_fr": _obj("st", "fr", "bleu", 30.0 * scale),
        "st_zh": _obj("st", "zh", "bleu", 12.0 * scale),
        "ssl": {"task": "ssl", "value": None},  # no metric value: not in the table
    }
    return {"objectives": objs, "average": {"wer": 999.0}}  # a wrong stored average must be ignored


def _rows(md: str) -> dict[str, list[str]]:
    rows = [line.strip("|").split("|") for line in md.splitlines() if line.startswith("| ")]
    return {r[0].strip(): [c.strip() for c in r[1:]] for r in rows}


def test_doctests():
    assert doctest.testmod(report).failed == 0


def test_markdown_table_layout_and_average():
    md = markdown_table(_results(), title="Table 1")
    assert md.startswith("**Table 1**")
    rows = _rows(md)
    assert rows["Language"] == ["ASR WER (%)", "ST BLEU (X→En)"]
    assert list(rows) == ["Language", "en", "fr", "zh", "Average"]  # paper order, not insertion order
    assert rows["en"] == ["10.00", "–"]
    assert rows["zh"] == ["15.00 (CER)", "12.00"]
    assert rows["Average"] == [f"{(10 + 20 + 15) / 3:.2f}", "21.00"]
    assert "999" not in md and "(CER): character error rate" in md


def test_extra_task_columns():
    res = _results()
    res["objectives"]["gender_fr"] = _obj("gender", "fr", "accuracy", 91.5)
    res["objectives"]["gender_en"] = _obj("gender", "en", "accuracy", 88.5)
    rows = _rows(markdown_table(res))
    assert rows["Language"][-1] == "gender accuracy"
    assert rows["fr"][-1] == "91.50" and rows["zh"][-1] == "–" and rows["Average"][-1] == "90.00"


def test_duplicate_cell_is_an_error():
    res = _results()
    res["objectives"]["st_dec_fr"] = _obj("st", "fr", "bleu", 31.0)
    with pytest.raises(ValueError, match="st_fr.*st_dec_fr"):
        markdown_table(res)


def test_comparison_bold_mean_std_and_missing():
    seeds = [_results(0.9), _results(1.1)]
    partial = {"objectives": {"asr_fr": _obj("asr", "fr", "wer", 25.0), "st_fr": _obj("st", "fr", "bleu", 35.0)}}
    md = comparison_table({"base": _results(), "modo": seeds, "fr_only": partial})
    wer_md, bleu_md = md.split("**ST BLEU (X→En)**")
    w, b = _rows(wer_md), _rows(bleu_md)
    sd = lambda a, c: f"{statistics.stdev([a, c]):.2f}"  # noqa: E731
    assert w["Language"] == ["base", "modo", "fr_only"]
    assert list(w)[1:] == ["en", "fr", "zh (CER)", "Average"]
    assert w["en"] == ["**10.00**", f"**10.00 ± {sd(9, 11)}**", "—"]  # equal shown means: both bold
    assert w["fr"] == ["**20.00**", f"**20.00 ± {sd(18, 22)}**", "25.00"]
    assert w["Average"] == ["**15.00**", f"**15.00 ± {sd(13.5, 16.5)}**", "25.00"]
    assert b["fr"] == ["30.00", f"30.00 ± {sd(27, 33)}", "**35.00**"]  # BLEU: highest wins
    assert b["zh"] == ["**12.00**", f"**12.00 ± {sd(10.8, 13.2)}**", "—"]
    assert "en" not in b  # no X→En objective for English anywhere
    assert "Averages cover different language sets" in md


def test_comparison_best_per_row_lower_wer_higher_bleu():
    a = {"objectives": {"x": _obj("asr", "de", "wer", 12.0), "y": _obj("st", "de", "bleu", 20.0)}}
    c = {"objectives": {"x": _obj("asr", "de", "wer", 14.0), "y": _obj("st", "de", "bleu", 22.0)}}
    w, b = (_rows(t) for t in comparison_table({"a": a, "c": c}).split("**ST BLEU (X→En)**"))
    assert w["de"] == ["**12.00**", "14.00"] and w["Average"] == ["**12.00**", "14.00"]
    assert b["de"] == ["20.00", "**22.00**"] and b["Average"] == ["20.00", "**22.00**"]
    # one recipe only: nothing to compare, nothing bold
    assert "**12.00**" not in comparison_table({"a": a})


def test_seed_missing_a_language_is_flagged_not_invented():
    s1 = {"objectives": {"x": _obj("asr", "fr", "wer", 10.0), "y": _obj("asr", "de", "wer", 30.0)}}
    s2 = {"objectives": {"x": _obj("asr", "fr", "wer", 12.0)}}
    w = _rows(comparison_table({"r": [s1, s2]}, metric_order=("wer",)))
    assert w["de"] == ["30.00 (n=1)"]
    assert w["fr"] == [f"11.00 ± {statistics.stdev([10.0, 12.0]):.2f}"]
    # per-seed averages (20, 12) then mean ± std
    assert w["Average"] == [f"16.00 ± {statistics.stdev([20.0, 12.0]):.2f}"]


def test_write_csv_same_cells(tmp_path):
    path = write_csv(tmp_path / "t.csv", _results())
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Language", "ASR WER (%)", "ST BLEU (X→En)"]
    assert rows[-1] == ["Average", "15.00", "21.00"]
    runs = {"a": _results(), "b": _results(1.1)}
    path = write_csv(tmp_path / "c.csv", runs=runs, metric="bleu")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Language", "a", "b"] and rows[-1] == ["Average", "21.00", "23.10"]
    with pytest.raises(ValueError):
        write_csv(tmp_path / "x.csv")
