"""scripts/text_mt_reference.py: the text-input translation reference runs on a prepared corpus, prints one JSON
line per evaluation with BLEU per pair, and learns (the loss falls over a short run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "text_mt_reference.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)


def test_prints_bleu_per_pair_and_the_loss_falls(tiny_corpus):
    done = run("--corpus", str(tiny_corpus), "--langs", "fr,de", "--steps", "40", "--eval-every", "20",
               "--batch", "4", "--warmup", "5", "--test-utterances", "5", "--st-vocab", "100")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["step"] for r in lines] == [20, 40] and lines[1]["presentations_per_pair"] == 160
    assert all(set(r["bleu"]) == {"fr", "de"} and all(0 <= b <= 100 for b in r["bleu"].values()) for r in lines)
    assert lines[1]["average"] == round(sum(lines[1]["bleu"].values()) / 2, 2)
    assert lines[1]["loss"] < lines[0]["loss"]


def test_a_corpus_without_the_language_is_an_error(tmp_path):
    done = run("--corpus", str(tmp_path), "--langs", "fr", "--steps", "1")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ") and "cuts_fr_train.jsonl.gz: manifest not found" in done.stderr


def test_bad_sizes_are_refused_by_the_parser(tiny_corpus):
    for args in (["--steps", "0"], ["--eval-every", "-1"], ["--batch", "100000"]):
        done = run("--corpus", str(tiny_corpus), "--langs", "fr", *args)
        assert done.returncode == 2 and "Traceback" not in done.stderr and args[0] in done.stderr
