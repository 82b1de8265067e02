"""``soups suggest-hierarchy`` on constructed cosine matrices with a known right answer."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from soups.cli import main
from soups.grid.suggest import cluster_labels, mds_2d, suggest, write_suggestion
from soups.moo.hierarchy import Hierarchy
from soups.train.config import load_config
from tests.grid.helpers import base_config

ASR = ["asr_en", "asr_fr", "asr_de"]
ST = ["st_fr_en", "st_de_en"]


def conflicts(names, tasks, cos, layers=None) -> dict:
    cos = np.asarray(cos, dtype=float)
    assert np.allclose(cos, cos.T)
    mat = {"mean_cosine": cos.tolist(), "count": np.ones_like(cos).tolist(), "undefined": np.zeros_like(cos).tolist()}
    layers = layers or {"block.0": mat}
    objectives = [{"name": n, "task": t, "lang": None} for n, t in zip(names, tasks)]
    return {"names": names, "steps": 10, "objectives": objectives,
            "model": mat, "layers": layers, "layer_order": list(layers)}


def two_groups(ssl_cos: float, cross: float = -0.3) -> dict:
    """ASR objectives aligned (+0.4), ST aligned (+0.5), ASR–ST ``cross``, SSL ``ssl_cos`` with everything."""
    names = ST[:1] + ASR + ST[1:] + ["ssl"]  # interleaved on purpose
    tasks = ["st", "asr", "asr", "asr", "st", "ssl"]
    m = len(names)
    cos = np.eye(m)
    for i in range(m):
        for j in range(m):
            if i != j:
                ti, tj = tasks[i], tasks[j]
                cos[i, j] = ssl_cos if "ssl" in (ti, tj) else (0.4 if ti == tj == "asr" else 0.5 if ti == tj else cross)
    return conflicts(names, tasks, cos)


def test_two_conflicting_groups_and_aligned_ssl_give_the_uas_hierarchy():
    s = suggest(two_groups(ssl_cos=0.3))
    assert s.levels == [ASR, ST, ["ssl"]] and s.formulation == "vm" and not s.warnings
    assert s.penalties == [{"initial": 0.1, "increase": 0.02, "cap": 1.5, "unit": "epoch"},
                           {"initial": 0.0, "increase": 0.02, "cap": 1.5, "unit": "epoch"}]
    text = "\n".join(s.reasoning)
    assert "st_fr_en/asr_en -0.300" in text and "ssl is aligned with every supervised objective" in text
    assert suggest(two_groups(ssl_cos=0.3), prefer="st").levels == [ST, ASR, ["ssl"]]  # USA
    names = two_groups(0.3)["names"]  # the levels are the preset's for these objectives
    tags = {n: {"task": t} for n, t in zip(names, ["st", "asr", "asr", "asr", "st", "ssl"])}
    assert sorted(map(sorted, Hierarchy({"formulation": "vm", "levels": "uas"}, names, ssl=["ssl"],
                                        tags=tags).levels)) == sorted(map(sorted, s.levels))


def test_all_aligned_gives_one_supervised_level():
    s = suggest(two_groups(ssl_cos=0.2, cross=0.1))
    assert s.levels == [ST[:1] + ASR + ST[1:], ["ssl"]] and s.formulation == "vm" and not s.warnings
    assert s.penalties == [{"initial": 0.0, "increase": 0.02, "cap": 1.5, "unit": "epoch"}]  # VC's SSL penalty
    assert "i.e. the VC-MSP structure" in "\n".join(s.reasoning)


def test_ssl_conflicting_with_everything_is_a_warning_and_stays_lowest():
    s = suggest(two_groups(ssl_cos=-0.4))
    assert s.levels == [ASR, ST, ["ssl"]]
    assert len(s.warnings) == 1 and "conflicts with every supervised objective" in s.warnings[0]
    assert "paper's default placement" in s.warnings[0]


def test_threshold_no_ssl_and_determinism():
    data = two_groups(ssl_cos=0.3, cross=-0.05)
    assert suggest(data, threshold=-0.1).levels == [data["names"][:5], ["ssl"]]  # -0.05 is not a conflict here
    assert suggest(data).levels == suggest(json.loads(json.dumps(data))).levels == [ASR, ST, ["ssl"]]
    names, tasks = ["a", "b", "c"], ["asr", "asr", "asr"]
    cos = [[1, -0.5, 0.2], [-0.5, 1, 0.3], [0.2, 0.3, 1]]  # a/b conflict; c is closer to b than to a
    s = suggest(conflicts(names, tasks, cos))
    assert s.levels == [["b", "c"], ["a"]] and s.penalties == [{"initial": 0.1, "increase": 0.02, "cap": 1.5,
                                                                  "unit": "epoch"}]
    assert suggest(conflicts(["a"], ["asr"], [[1.0]])).formulation == "vs"


def test_clustering_helpers():
    cos = np.array([[1, 0.9, -0.8], [0.9, 1, -0.7], [-0.8, -0.7, 1]])
    assert cluster_labels(cos) == [0, 0, 1] and cluster_labels(np.eye(1)) == [0]
    xy = mds_2d(1 - cos)
    assert np.linalg.norm(xy[0] - xy[1]) < np.linalg.norm(xy[0] - xy[2])


def test_files_and_full_config(tmp_path, capsys):
    names = ["asr_en", "asr_fr", "st_fr_en", "ssl"]
    cos = [[1, 0.3, -0.2, 0.1], [0.3, 1, -0.3, 0.2], [-0.2, -0.3, 1, 0.1], [0.1, 0.2, 0.1, 1]]
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "conflicts.json").write_text(json.dumps(conflicts(names, ["asr", "asr", "st", "ssl"], cos)))
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(base_config("data/x")))
    assert main(["suggest-hierarchy", str(tmp_path / "c"), "--config", str(base)]) == 0
    out = capsys.readouterr().out
    assert "1. conflicting supervised pairs" in out and "moo.mode set to faithful" in out
    snippet = yaml.safe_load((tmp_path / "c" / "hierarchy.yaml").read_text())
    assert snippet["moo"]["hierarchy"]["levels"] == [["asr_en", "asr_fr"], ["st_fr_en"], ["ssl"]]
    cfg = load_config(tmp_path / "c" / "config.yaml")
    assert cfg.moo.mode == "faithful" and cfg.moo.hierarchy["levels"] == snippet["moo"]["hierarchy"]["levels"]
    other = tmp_path / "other.yaml"
    data = base_config("data/x")
    data["objectives"] = data["objectives"][:2]
    other.write_text(yaml.safe_dump(data))
    with pytest.raises(Exception, match="match this config"):
        write_suggestion(tmp_path / "c", other, tmp_path / "o", echo=lambda s: None)
    assert main(["suggest-hierarchy", str(tmp_path / "nowhere")]) == 2
