"""``soups conflicts`` on a tiny trained experiment and on a config: well-formed cosine matrices (symmetric,
unit diagonal, in [−1, 1]) for the whole encoder and every layer group, no parameter update while measuring,
evolution over checkpoints, figures."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from soups.cli import main
from soups.grid.conflicts import _measure_step, run_conflicts
from soups.moo import ConflictStats
from tests.grid.helpers import base_config

PNG = b"\x89PNG\r\n\x1a\n"


def _check_matrix(matrix, m):
    cos = np.array(matrix, dtype=float)
    assert cos.shape == (m, m) and not np.isnan(cos).any()
    assert np.allclose(cos, cos.T, atol=1e-9)
    assert np.allclose(np.diag(cos), 1.0, atol=1e-9)
    assert (cos >= -1 - 1e-9).all() and (cos <= 1 + 1e-9).all()
    assert (np.abs(cos - np.eye(m)) > 1e-6).any()  # real measurements, not an identity placeholder


@pytest.fixture(scope="module")
def measured(tiny_exp, tmp_path_factory):
    out = tmp_path_factory.mktemp("conflicts")
    data = run_conflicts(tiny_exp, 2, out, checkpoint="all", echo=lambda s: None)
    return out, data


def test_conflicts_json_of_a_trained_experiment(measured, tiny_exp):
    from soups.eval.experiment import load_experiment

    out, data = measured
    assert json.loads((out / "conflicts.json").read_text()) == json.loads(json.dumps(data))
    names = ["asr_en", "asr_fr", "st_fr_en", "ssl"]
    assert data["names"] == names and data["steps"] == 2
    assert [o["task"] for o in data["objectives"]] == ["asr", "asr", "st", "ssl"]
    _check_matrix(data["model"]["mean_cosine"], 4)
    _check_matrix(data["model"]["accumulated_cosine"], 4)
    assert data["statistic"] == "accumulated" and data["model"]["cosine"] == data["model"]["accumulated_cosine"]
    assert np.array(data["model"]["count"]).min() == 2  # every pair defined at both steps
    _, model, _, _ = load_experiment(tiny_exp)
    groups = list(model.layer_groups())
    assert data["layer_order"] == groups == ["frontend", "block.0"]
    for g in groups:
        _check_matrix(data["layers"][g]["mean_cosine"], 4)
        _check_matrix(data["layers"][g]["cosine"], 4)
    assert [e["step"] for e in data["evolution"]] == [2, 4] and data["checkpoint"] == "ckpt-00000004"
    for name in ("heatmap_model.png", "heatmap_layers.png", "clusters.png", "evolution.png"):
        assert (out / name).read_bytes()[:8] == PNG, name


def test_measuring_does_not_update_the_model(tiny_exp, tmp_path):
    from soups.train.config import load_config
    from soups.train.loop import make_context

    ctx = make_context(load_config(tiny_exp / "config.yaml"), tiny_exp)
    before = {k: v.clone() for k, v in ctx.model.state_dict().items()}
    stats = ConflictStats(ctx.model.names)
    _measure_step(ctx, stats)
    after = ctx.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in ctx.model.parameters())
    assert stats.to_json()["layers"]["__model__"]["steps"] == 1


def test_conflicts_cli_from_a_config_at_initialisation(tiny_corpus, tmp_path, capsys):
    config = tmp_path / "c.yaml"
    data = base_config(tiny_corpus)
    data["objectives"] = data["objectives"][:2] + data["objectives"][3:]  # asr_en, asr_fr, ssl
    config.write_text(yaml.safe_dump(data))
    rc = main(["conflicts", str(config), "--steps", "1", "--out", str(tmp_path / "c"), "--no-plots",
               "--statistic", "per_step", "train.seed=5"])
    assert rc == 0, capsys.readouterr().err
    out = json.loads((tmp_path / "c" / "conflicts.json").read_text())
    assert out["checkpoint"] == "init" and out["names"] == ["asr_en", "asr_fr", "ssl"]
    _check_matrix(out["model"]["mean_cosine"], 3)
    # one step: both statistics are that step's cosine; the file's choice is the per-step mean
    assert out["statistic"] == "per_step" and out["model"]["cosine"] == out["model"]["mean_cosine"]
    assert np.allclose(out["model"]["accumulated_cosine"], out["model"]["mean_cosine"], atol=1e-9)
    assert not (tmp_path / "c" / "heatmap_model.png").exists()
    assert main(["conflicts", str(tmp_path / "nothing"), "--steps", "1", "--out", str(tmp_path / "d")]) == 2
