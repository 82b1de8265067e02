"""Fault injection: ``soups train`` processes SIGKILLed at seeded random moments and in the middle of a
checkpoint write (``SOUPS_FAULT_KILL_AT_WRITE``), then resumed with ``--resume`` until the schedule ends: the final
weights, optimizer state, MoDo λ and RNG states are bit-identical to an uninterrupted run's."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml

from soups.train.checkpoint import load_checkpoint
from tests.train.test_training import SMALL_MODEL

OBJECTIVES = [{"name": "asr_en", "task": "asr", "lang": "en"}, {"name": "asr_fr", "task": "asr", "lang": "fr"},
              {"name": "st_fr_en", "task": "st", "lang": "fr", "head": "ctc"},
              {"name": "ssl", "task": "ssl", "head": "bestrq"}]
STEPS = 8


def _config(corpus, tmp_path, mode: str):
    data = {"data": {"dir": str(corpus), "batch_cuts": 4, "dev_utterances": 2, "specaugment": {"enabled": False}},
            "tokenizers": {"asr": {"kind": "char", "vocab_size": 48}, "st": {"kind": "spm", "vocab_size": 64}},
            "model": dict(SMALL_MODEL, ssl={"num_codes": 64}), "objectives": OBJECTIVES,
            "moo": {"mode": mode, "hierarchy": {"formulation": "vm", "levels": "uas", "weighting": "modo"}
                    if mode != "linear" else {}},
            "train": {"max_steps": STEPS, "warmup_steps": 2, "log_every": 1, "checkpoint_every": 1, "keep_last": 2,
                      "threads": 1, "eval_every": 0}}
    path = tmp_path / f"{mode}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _train(config, out, *extra, env=None, kill_after: float | None = None) -> int:
    cmd = [sys.executable, "-m", "soups", "train", str(config), "--out", str(out), "--no-progress", *extra]
    proc = subprocess.Popen(cmd, env=dict(os.environ, **(env or {})), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    if kill_after is not None:
        deadline = time.time() + kill_after
        while proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode in (0, -signal.SIGKILL), err[-2000:]
    return proc.returncode


def _final(exp):
    return load_checkpoint(exp / "checkpoints" / f"ckpt-{STEPS:08d}.pt")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["linear", "fast", "faithful"])
def test_sigkilled_runs_resume_to_the_uninterrupted_result(mode, tiny_corpus, tmp_path):
    config = _config(tiny_corpus, tmp_path, mode)
    assert _train(config, tmp_path / "full") == 0
    exp, kills, rng = tmp_path / "killed", 0, random.Random(f"kill-{mode}")
    # the first run dies inside its 5th atomic write (config, tokenizers, cmvn, then checkpoints): a torn one
    kills += _train(config, exp, env={"SOUPS_FAULT_KILL_AT_WRITE": str(rng.randint(4, 7))}) != 0
    for attempt in range(12):
        if (exp / "checkpoints" / f"ckpt-{STEPS:08d}.pt").is_file():
            break
        resume = ["--resume"] if (exp / "config.yaml").is_file() else []
        kill_after = rng.uniform(4.0, 12.0) if attempt < 2 else None   # random moments, then to the end
        kills += _train(config, exp, *resume, kill_after=kill_after) != 0
    assert kills >= 1
    full, resumed = _final(tmp_path / "full"), _final(exp)
    assert all(torch.equal(full["model"][k], resumed["model"][k]) for k in full["model"])
    states = [(full["optimizer"]["state"][i], resumed["optimizer"]["state"][i]) for i in full["optimizer"]["state"]]
    assert all(torch.equal(torch.as_tensor(a[k]), torch.as_tensor(b[k])) for a, b in states for k in a)
    assert str(full["engine"]) == str(resumed["engine"]) and str(full["rng"]) == str(resumed["rng"])
    assert not list(exp.rglob(".*.tmp")), "stale temporaries are removed by --resume"
    steps = [line for line in (exp / "log.jsonl").read_text().splitlines() if '"loss/' in line]
    assert len(steps) == STEPS                                   # each step logged once
