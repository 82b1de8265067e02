"""``soups train`` as a ``torchrun`` rank: it prints its summary, then leaves without the interpreter teardown."""

import json

import pytest

import soups.cli.train as train_cli
from soups.cli import main


class Exited(Exception):
    pass


@pytest.fixture
def fake_launch(monkeypatch, tmp_path):
    """`launch` replaced by a finished run's summary (rank 0) or None (other ranks); os._exit recorded."""
    calls = {}

    def launch(cfg, out, **kwargs):
        return {"step": 3, "seconds": 1.23, "skipped_steps": 0, "skipped_items": {}, "skips": {"by_reason": {}},
                "dev": None} if int(calls["rank"]) == 0 else None

    def exit_now(code):
        calls["exit"] = code
        raise Exited

    monkeypatch.setattr("soups.train.loop.launch", launch)
    monkeypatch.setattr(train_cli.os, "_exit", exit_now)
    monkeypatch.setattr("soups.train.config.load_config", lambda path, overrides: object())
    return calls


@pytest.mark.parametrize("rank", ["0", "1"])
def test_a_torchrun_rank_prints_its_summary_then_exits_with_0_without_teardown(fake_launch, monkeypatch, capsys,
                                                                               rank, tmp_path):
    fake_launch["rank"] = rank
    monkeypatch.setenv("RANK", rank)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(Exited):
        main(["train", "any.yaml", "--out", str(tmp_path / "exp")])
    assert fake_launch["exit"] == 0
    out = capsys.readouterr().out
    assert (json.loads(out)["step"] == 3) if rank == "0" else out == ""


def test_a_single_process_run_returns_normally(fake_launch, monkeypatch, capsys, tmp_path):
    fake_launch["rank"] = "0"
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert main(["train", "any.yaml", "--out", str(tmp_path / "exp")]) == 0
    assert "exit" not in fake_launch
    assert json.loads(capsys.readouterr().out)["seconds"] == 1.2


def test_training_into_a_directory_another_process_writes_is_a_one_line_error(tiny_corpus, hold_elsewhere, tmp_path,
                                                                               capsys):
    import yaml

    from tests.grid.helpers import base_config

    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(base_config(tiny_corpus)))
    proc = hold_elsewhere(tmp_path / "exp")
    assert main(["train", str(config), "--out", str(tmp_path / "exp"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"soups: error: {tmp_path / 'exp'}: in use by another soups process (pid {proc.pid} ")
    assert "\n" not in err and sorted(p.name for p in (tmp_path / "exp").iterdir()) == [".lock"]
