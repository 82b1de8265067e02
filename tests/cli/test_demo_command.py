"""``soups demo`` end to end on the tiny built-in corpus: the table (config decoding and greedy side by side),
the cut-run notice, the curves PNG; and the busy-machine probe."""

import shutil
from pathlib import Path

import matplotlib.image
import pytest

from soups.cli import main
from soups.cli.demo import busy_cores

ROOT = Path(__file__).parents[2]
SMALL_MODEL = ["model.encoder={d_model: 64, num_blocks: 2, num_heads: 2, subsampling_channels: 16, "
               "intermediate_layers: [1]}", "tokenizers.st={kind: spm, vocab_size: 100}", "data.dev_utterances=2",
               "eval.ctc_workers=1"]


@pytest.mark.slow
def test_demo_prints_both_decodings_marks_a_cut_run_and_draws_curves(tiny_corpus, tmp_path, capsys):
    corpus = tmp_path / "corpus"
    shutil.copytree(tiny_corpus, corpus)
    out = tmp_path / "demo"
    # max_steps 4 but stop after 2 (a run cut short, as train.max_minutes would): the table must say so
    args = ["demo", "--config", str(ROOT / "configs" / "demo.yaml"), "--corpus", str(corpus), "--size", "tiny",
            "--out", str(out), *SMALL_MODEL, "train.max_steps=4", "train.eval_every=1", "train.max_minutes=0.0001"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "| Language | ASR WER (%), CTC beam search + n-gram LMs | ASR WER (%), greedy |" in text
    assert "ST BLEU (X→En), greedy" in text and "BLEU signature:" in text
    assert "Training was cut at step 1 of 4" in text
    png = out / "curves.png"
    assert png.is_file() and matplotlib.image.imread(png).shape[0] > 100
    assert (out / "eval" / "test" / "results.json").is_file() and (out / "eval" / "test-greedy" / "results.json").is_file()


def test_busy_cores_is_a_core_count():
    busy = busy_cores(0.05)
    assert busy is None or 0.0 <= busy <= 64
