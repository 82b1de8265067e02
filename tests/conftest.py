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


@pytest.fixture
def hold_elsewhere():
    """``hold_elsewhere(DIR)`` → a live process holding DIR's lock (:mod:`soups.lock`), killed at teardown."""
    import subprocess
    import sys
    from pathlib import Path

    procs = []
    code = ("import sys, time\nfrom soups.lock import hold\nwith hold(sys.argv[1]):\n"
            "    print('held', flush=True)\n    time.sleep(300)\n")

    def start(directory):
        src = str(Path(__file__).parents[1] / "src")
        proc = subprocess.Popen([sys.executable, "-c", code, str(directory)], stdout=subprocess.PIPE, text=True,
                                env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"})
        procs.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()
