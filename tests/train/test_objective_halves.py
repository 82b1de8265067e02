"""Separable objectives (CTC with intermediate CTC, attention decoder, gender): a batch half's loss taken from the
per-utterance losses of one head pass (``LossOutput.rows``) equals the objective run on that half alone — loss,
skipped, items and weight — including a CTC-infeasible and an unlabeled utterance; and ``step_terms``
with halves then gives the same per-objective gradients as running every head on each half (float64)."""

import pytest
import torch

from soups.bench import moo_setup as ms
from soups.model import ClassificationHead
from soups.objectives import GenderObjective
from soups.objectives import ObjectiveConfig
from soups.train.config import load_config
from soups.train.step import step_terms
from tests.train.test_encoder_forward import SMALL

OBJECTIVES = [{"name": "asr_fr", "task": "asr", "lang": "fr", "inter_ctc_weight": 0.3},
              {"name": "st_fr_en", "task": "st", "lang": "fr", "head": "decoder"}]


def setup(seed: int = 7):
    model = {"preset": "tiny", **SMALL, "encoder": {**SMALL["encoder"], "intermediate_layers": [0]}}
    cfg = load_config(None, data={"objectives": OBJECTIVES, "model": model,
                                  "data": {"batch_cuts": 5, "specaugment": {"enabled": False}},
                                  "moo": {"mode": "fast", "hierarchy": {"formulation": "vs", "weighting": "modo"}}})
    s = ms.build_setup(cfg, seconds=1.0, device="cpu", mode="fast", seed=seed)
    s.model.double()
    batch = s.batches["fr"]
    batch.feats = batch.feats.double()
    batch.asr_tokens[3] = [5] * 400                      # more targets than encoder frames: CTC-infeasible
    batch.genders = ["m", None, "f", "f", "m"]           # one unlabeled utterance
    return s, batch


def test_rows_equal_the_objective_on_the_half_alone():
    s, batch = setup()
    view = s.model.encode({"fr": batch}, joint=True)["fr"].tap()
    gender = GenderObjective(ObjectiveConfig("gender_fr", "gender", lang="fr"),
                             ClassificationHead(view.out.shape[-1], 2)).double()
    objectives = [*s.model.objectives.values(), gender]
    assert all(o.separable for o in objectives)
    for obj in objectives:
        full = obj(view, batch)
        for half in batch.halves():
            rows = torch.tensor(half)
            fast, alone = full.rows(rows), obj(view.select(rows), batch.select(half))
            assert float(fast.loss.detach()) == pytest.approx(float(alone.loss.detach()), rel=1e-10), obj.name
            assert (fast.skipped, fast.items, fast.weight) == (alone.skipped, alone.items, alone.weight), obj.name
        assert full.skipped == {"asr": 1, "st": 0, "gender": 1}[obj.task] and float(full.loss.detach()) > 0


def test_halves_from_rows_give_the_separate_passes_gradients(monkeypatch):
    def grads():
        s, batch = setup()
        views = s.model.encode({"fr": batch}, joint=True)
        terms, _ = step_terms(s.model, views, {"fr": batch}, halves=True)
        return [torch.autograd.grad(l, list(s.model.parameters()), retain_graph=True, allow_unused=True)
                for ls in terms.losses for l in ls]

    by_rows = grads()
    for obj in ("CTCObjective", "DecoderObjective"):
        monkeypatch.setattr(f"soups.objectives.{obj}.separable", False)
    separate = grads()
    assert len(by_rows) == len(separate) == 2 * len(OBJECTIVES)
    for a, b in zip(by_rows, separate):
        pairs = [(x, y) for x, y in zip(a, b) if x is not None or y is not None]
        assert pairs and all(x is not None and y is not None for x, y in pairs)
        assert all(torch.allclose(x, y, rtol=1e-8, atol=1e-12) for x, y in pairs)
