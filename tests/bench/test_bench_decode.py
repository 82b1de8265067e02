"""``soups bench decode``: one JSON object with the CTC prefix beam search's speed per setting; bad sizes are
refused by the argument parser."""

import json

import pytest

from soups.cli import main


def test_bench_decode_json_has_one_run_per_setting(capsys):
    assert main(["bench", "decode", "--frames", "40", "--utterances", "2", "--vocabs", "16,32", "--beams", "4",
                 "--topk", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["frames"] == 40 and result["utterances"] == 2 and result["workers"] == 1
    runs = result["runs"]
    assert [(r["vocab"], r["beam"], r["lm"]) for r in runs] == [(16, 4, False), (16, 4, True),
                                                               (32, 4, False), (32, 4, True)]
    for r in runs:
        assert r["topk"] == 4 and r["s_per_utt"] > 0 and r["utt_per_s"] > 0
        assert r["frames_per_s"] == pytest.approx(40 * r["utt_per_s"], rel=0.05)


def test_bench_decode_with_workers(capsys):
    assert main(["bench", "decode", "--frames", "30", "--utterances", "4", "--vocabs", "16", "--beams", "4",
                 "--workers", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["workers"] == 2 and len(result["runs"]) == 2 and all(r["s_per_utt"] > 0 for r in result["runs"])


@pytest.mark.parametrize("args", [["--frames", "0"], ["--utterances", "x"], ["--beams", "0"], ["--workers", "0"]])
def test_bench_decode_refuses_non_positive_sizes(args, capsys):
    with pytest.raises(SystemExit) as err:
        main(["bench", "decode", *args])
    assert err.value.code == 2 and "positive integer" in capsys.readouterr().err
