"""``soups bench dist``: the JSON contract and that 2 gloo processes match 1 (float64: algorithm, not rounding).
One mode and one parallelism here; tests/train/test_distributed.py covers every mode with its own assertions."""

import json

import pytest

from soups.bench.dist import run
from soups.cli import main


@pytest.mark.slow
def test_two_processes_match_one_in_float64(tiny_corpus):
    out = run(str(tiny_corpus), steps=2, precision="float64", modes=("modo",), parallel=("data",))
    assert set(out["modes"]) == {"modo"} and set(out["modes"]["modo"]) == {"data"}
    cell = out["modes"]["modo"]["data"]
    assert cell["max_abs_weight_diff_vs_single"] < 1e-9
    assert cell["max_abs_lambda_diff_vs_single"] < 1e-9
    assert cell["bytes_per_step"] > 0 and cell["step_s_two"] > 0
    assert out["max_abs_weight_diff_vs_single"] == cell["max_abs_weight_diff_vs_single"]
    json.dumps(out)                                  # the --json output is serialisable


def test_cli_registers_dist_with_its_options(capsys):
    with pytest.raises(SystemExit) as e:
        main(["bench", "dist", "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert "--corpus" in text and "--precision" in text and "--steps" in text
