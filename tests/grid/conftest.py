"""Fixtures of the grid tests: one trained tiny experiment (for conflicts and resources)."""

from __future__ import annotations

import pytest

from tests.grid.helpers import base_config


@pytest.fixture(scope="session")
def tiny_exp(tiny_corpus, tmp_path_factory):
    """A 4-step VM-UAS run (faithful) with checkpoints at steps 2 and 4, evaluated on 2 test utterances."""
    import torch

    from soups.eval.experiment import evaluate_experiment
    from soups.train.config import load_config
    from soups.train.loop import run_training

    torch.set_num_threads(1)
    data = base_config(tiny_corpus)
    data["moo"] = {"mode": "faithful", "hierarchy": {"formulation": "vm", "levels": "uas", "weighting": "modo"}}
    data["train"].update(max_steps=4, checkpoint_every=2)
    exp = tmp_path_factory.mktemp("tiny-exp") / "exp"
    run_training(load_config(None, [], data=data), exp, progress=False)
    evaluate_experiment(exp, "test", max_utterances=2)
    return exp
