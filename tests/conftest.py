"""Shared fixtures: the built-in corpus at size ``tiny`` (synthesized once per test session), with features."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread():
    """Tests share 2 cores: one intra-op thread each (restored afterwards)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """A prepared data directory: the built-in corpus (tiny, seed 0, all six languages) with fbank features."""
    from soups.data.feature_store import compute_features
    from soups.data.prepare import prepare_synthetic

    out = tmp_path_factory.mktemp("synthetic-tiny")
    prepare_synthetic(out, size="tiny", seed=0)
    compute_features(out)
    return out
