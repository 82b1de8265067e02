"""Experiment files are written atomically, and a resumed run removes what a killed writer left behind."""

import json

import pytest

from soups.atomic import atomic_write, atomic_write_text, remove_stale_temporaries
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
