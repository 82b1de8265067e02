"""Multi-phase recipes: a phase really starts from the previous phase's final weights, a frozen encoder really
stays bitwise unchanged while the heads train, and the trainer hook is applied and removed cleanly."""

from __future__ import annotations

import json

import pytest
import torch

from soups.eval.experiment import load_experiment
from soups.grid.recipes import load_grid
from soups.grid.runner import run_grid
from soups.train.checkpoint import load_checkpoint
from tests.grid.helpers import write_grid

RECIPE = {"moo": {"mode": "linear"}, "phases": [
    {"name": "pt", "steps": 2, "objectives": ["task:ssl"]},
    {"name": "frozen", "steps": 2, "init_from": "previous", "objectives": ["task:asr", "task:st"],
     "freeze": ["encoder"], "weights": "mean", "config": {"train": {"checkpoint_every": 1}}},
    {"name": "free", "steps": 2, "init_from": "pt", "objectives": ["task:asr", "task:st"], "weights": "mean"}]}


def _encoder(path):
    return {k: v for k, v in load_checkpoint(path)["model"].items() if k.startswith("encoder.")}


@pytest.fixture(scope="module")
def phased(tiny_corpus, tmp_path_factory):
    root = tmp_path_factory.mktemp("phased")
    path = write_grid(root / "g", tiny_corpus, {"PT+FT": RECIPE}, {"steps": 6, "recipes": ["PT+FT"]})
    [result] = run_grid(load_grid(path), [0], root / "runs", echo=lambda s: None)
    assert result.status == "done", result.error
    return root / "runs" / "PT+FT" / "seed0"


def test_frozen_phase_starts_from_the_previous_phase_and_keeps_the_encoder_unchanged(phased):
    pt = _encoder(phased / "phases" / "0-pt" / "checkpoints" / "ckpt-00000002.pt")
    ckpts = phased / "phases" / "1-frozen" / "checkpoints"
    step1 = load_checkpoint(ckpts / "ckpt-00000001.pt")["model"]
    step2 = load_checkpoint(ckpts / "ckpt-00000002.pt")["model"]
    for k, v in pt.items():  # initialised from pt, then never changed (no update, no weight decay)
        assert torch.equal(step1[k], v) and torch.equal(step2[k], v), k
    heads = [k for k in step1 if k.startswith("objectives.")]
    assert heads and any(not torch.equal(step1[k], step2[k]) for k in heads)  # the heads did train
    info = json.loads((phased / "phases" / "1-frozen" / "init.json").read_text())
    assert info["loaded"] == len(pt) and info["unused_heads"] == ["ssl"]
    _, model, _, _ = load_experiment(phased / "phases" / "1-frozen", "latest")
    enc = list(model.encoder.parameters())
    assert info["frozen"] == {"targets": ["encoder"], "parameters": len(enc), "elements": sum(p.numel() for p in enc)}
    assert sorted(info["new"]) == sorted(k for k in step1 if k.startswith("objectives."))


def test_unfrozen_phase_from_a_named_phase_trains_its_encoder(phased):
    pt = _encoder(phased / "phases" / "0-pt" / "checkpoints" / "ckpt-00000002.pt")
    final = _encoder(phased / "checkpoints" / "ckpt-00000002.pt")
    assert any(not torch.equal(final[k], v) for k, v in pt.items())
    info = json.loads((phased / "init.json").read_text())
    assert info["from"].endswith("0-pt/checkpoints/ckpt-00000002.pt") and "frozen" not in info
    shared = [json.loads((d / "tokenizers.json").read_text()) for d in
              (phased, phased / "phases" / "0-pt", phased / "phases" / "1-frozen")]
    assert shared[0] == shared[1] == shared[2] and "asr_en" in shared[1]  # one tokenizer set for all phases
    assert (phased / "eval" / "test" / "results.json").is_file()
