"""Experiment files are written atomically; a resumed run removes what a killed writer left behind, falls back
past a torn checkpoint and cuts log.jsonl back to the step it resumes from."""

import json

import pytest
import torch

from soups.atomic import atomic_write, atomic_write_text, remove_stale_temporaries
from soups.errors import CheckpointError
from soups.train.checkpoint import load_checkpoint
from soups.train.logger import cut_log_back
from soups.train.loop import run_training
from tests.train.test_training import make_cfg


def test_atomic_write_keeps_the_old_file_when_the_write_fails(tmp_path):
    path = tmp_path / "cmvn.json"
    atomic_write_text(path, '{"mean": [0.0]}')

    def torn(tmp):
        tmp.write_text('{"mea')       # half a file, then the writer dies
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, torn)
    assert json.loads(path.read_text()) == {"mean": [0.0]}
    assert [p.name for p in tmp_path.iterdir()] == ["cmvn.json"]     # no temporary left


def test_remove_stale_temporaries_only_takes_the_writers_leftovers(tmp_path):
    (tmp_path / ".ckpt-00000004.pt.4242.abcd1234.tmp").write_bytes(b"x" * 10)
    (tmp_path / "ckpt-00000002.pt").write_bytes(b"keep")
    (tmp_path / "notes.tmp").write_text("not ours: no leading dot")
    removed = remove_stale_temporaries(tmp_path)
    assert [p.name for p in removed] == [".ckpt-00000004.pt.4242.abcd1234.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-00000002.pt", "notes.tmp"]


def test_resume_removes_stale_temporaries_and_experiment_files_are_whole(tiny_corpus, tmp_path):
    exp = tmp_path / "exp"
    cfg = make_cfg(tiny_corpus, "train.max_steps=3", "train.checkpoint_every=1")
    run_training(cfg, exp, stop_after=2, progress=False)
    stale = exp / "checkpoints" / ".ckpt-00000003.pt.999.deadbeef.tmp"
    stale.write_bytes(b"\0" * 1000)
    summary = run_training(cfg, exp, resume=True, progress=False)
    assert summary["step"] == 3 and not stale.exists()
    for name in ("config.yaml", "tokenizers.json", "cmvn.json"):
        assert (exp / name).stat().st_size > 0
    assert not [p for p in exp.rglob(".*.tmp")]


def test_resume_falls_back_past_a_torn_checkpoint_and_cuts_the_log_back(tiny_corpus, tmp_path, caplog):
    """A torn newest checkpoint: resume from the intact one before it (saying so), replay the lost steps to
    the same weights as an uninterrupted run, and log.jsonl holds each step once."""
    cfg = make_cfg(tiny_corpus, "train.max_steps=4", "train.checkpoint_every=1", "train.log_every=1")
    run_training(cfg, tmp_path / "full", progress=False)
    exp = tmp_path / "exp"
    run_training(cfg, exp, stop_after=3, progress=False)
    torn = exp / "checkpoints" / "ckpt-00000003.pt"
    torn.write_bytes(torn.read_bytes()[:1000])
    with (exp / "log.jsonl").open("a") as f:
        f.write('{"step": 3, "loss/asr_en": 1.')  # a killed writer's torn last line
    with caplog.at_level("WARNING", logger="soups.train.loop"):
        summary = run_training(cfg, exp, resume=True, progress=False)
    assert summary["step"] == 4
    assert "ckpt-00000003.pt" in caplog.text and "falling back to ckpt-00000002.pt" in caplog.text
    steps = [json.loads(line)["step"] for line in (exp / "log.jsonl").read_text().splitlines()
             if '"loss/asr_en"' in line]
    assert steps == [1, 2, 3, 4]
    text = (exp / "train.log").read_text()                      # the readable log: appended, never cut
    assert "started at step 0 of 4" in text and "resumed at step 2 of 4" in text
    assert text.count("step 3  loss ") == 2 and "step 4  loss " in text and "stopped" in text
    full = load_checkpoint(tmp_path / "full" / "checkpoints" / "ckpt-00000004.pt")["model"]
    resumed = load_checkpoint(exp / "checkpoints" / "ckpt-00000004.pt")["model"]
    assert all(torch.equal(full[k], resumed[k]) for k in full)


def test_resume_with_no_loadable_checkpoint_is_one_clear_error(tiny_corpus, tmp_path):
    exp = tmp_path / "exp"
    cfg = make_cfg(tiny_corpus, "train.max_steps=2", "train.checkpoint_every=1")
    run_training(cfg, exp, progress=False)
    for path in (exp / "checkpoints").glob("ckpt-*.pt"):
        path.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="no checkpoint loads"):
        run_training(cfg, exp, resume=True, progress=False)


def test_cut_log_back_keeps_text_and_earlier_records(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"step": 1, "a": 1}\n{"step": 2, "a": 2}\n{"step": 3, "a": 3}\n{"step": 2, "x"')
    assert cut_log_back(path, 2) == 2
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == [1, 2]
    assert cut_log_back(path, 5) == 0
