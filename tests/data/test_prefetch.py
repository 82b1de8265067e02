"""``data.prefetch``: batches prepared ahead in a background thread are the batches the streams give without it,
in the same order; the state (for checkpoints) and the skip log follow the batches *delivered*, not those
prepared ahead; a resume from that state continues exactly; an error surfaces at the call that draws its batch."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from soups.data.prefetch import Prefetcher
from soups.data.skips import SkipLog
from soups.data.streams import Source, Stream, StreamConfig, synchronise
from soups.errors import ConfigError, DataError

THREADS = []
DEMO = Path(__file__).resolve().parents[2] / "configs" / "demo.yaml"


def _collate(name, cuts):
    THREADS.append(threading.current_thread().name)
    return SimpleNamespace(cuts=cuts)


def _drop_some(cut):
    """Refuses about one cut in five (a stable choice by id): skips to count."""
    return "too_short_for_ctc" if sum(map(ord, cut.id)) % 5 == 0 else None


def _prefetcher(corpus, depth: int, collate=_collate, keep=_drop_some) -> Prefetcher:
    skips = SkipLog()
    en = Stream(StreamConfig("en", (Source("en", str(corpus), "train"),), max_cuts=4, seed=1), collate, keep, skips)
    fr = Stream(StreamConfig("fr", (Source("fr", str(corpus), "train"),), max_cuts=4, seed=2), collate, keep, skips)
    synchronise([en, fr], 7)
    return Prefetcher({"en": en, "fr": fr}, skips, depth)


def _ids(batches: dict) -> dict:
    return {name: [c.id for c in b.cuts] for name, b in batches.items()}


@pytest.mark.parametrize("depth", [1, 3])
def test_prefetched_batches_states_and_skips_equal_the_streams_own(tiny_corpus, depth):
    ref, ahead = _prefetcher(tiny_corpus, 0), _prefetcher(tiny_corpus, depth)
    THREADS.clear()
    for _ in range(16):   # epochs of 7 batches: two epoch boundaries
        assert _ids(ahead.next()) == _ids(ref.next())
        assert ahead.state_dict() == ref.state_dict()
        assert ahead.skips.to_dict() == ref.skips.to_dict()
    assert ref.skips.total() > 0                                   # the filter did refuse cuts
    delivered, deadline = ahead.state_dict()["en"], time.monotonic() + 30
    while ahead.streams["en"].state_dict() == delivered and time.monotonic() < deadline:
        time.sleep(0.01)                                           # the next step's batches are under way
    ahead.close(), ref.close()
    read = ahead.streams["en"].state_dict()
    assert (read["epoch"], read["batches"]) > (delivered["epoch"], delivered["batches"])   # it did read ahead
    assert ahead.skips.to_dict() == ref.skips.to_dict()            # ... without counting those batches' skips
    assert "MainThread" in THREADS and any(t.startswith("soups-data") for t in THREADS)


@pytest.mark.parametrize("delivered", [3, 7, 10])
def test_a_resume_from_the_delivered_state_continues_exactly(tiny_corpus, delivered):
    ref = _prefetcher(tiny_corpus, 1)
    for _ in range(delivered):
        ref.next()
    resumed = _prefetcher(tiny_corpus, 1)
    resumed.next()                                 # a context that had already drawn (and read ahead)
    resumed.load_state_dict(ref.state_dict())
    for _ in range(9):
        assert _ids(resumed.next()) == _ids(ref.next())
    assert resumed.state_dict() == ref.state_dict()
    ref.close(), resumed.close()


def test_an_error_surfaces_at_the_call_that_draws_its_batch(tiny_corpus):
    calls = []

    def collate(name, cuts):
        calls.append(name)
        if len(calls) == 5:    # the third step's first stream
            raise DataError("unreadable features", "fbank/x.lca", 3)
        return SimpleNamespace(cuts=cuts)

    data = _prefetcher(tiny_corpus, 2, collate)
    data.next(), data.next()                       # the failing batch is being prepared: no error yet
    with pytest.raises(DataError, match="fbank/x.lca:3: unreadable features"):
        data.next()
    data.close()


def test_close_stops_the_worker(tiny_corpus):
    workers = lambda: sum(t.name.startswith("soups-data") and t.is_alive() for t in threading.enumerate())  # noqa: E731
    data = _prefetcher(tiny_corpus, 1)
    before = workers()
    data.next()
    assert workers() == before + 1
    data.close()
    assert workers() == before


def test_finish_runs_ahead_with_the_draw_index_of_each_set_and_restarts_at_start(tiny_corpus):
    seen = []

    def finish(batches, draw):
        seen.append((threading.current_thread().name, draw))
        return {name: SimpleNamespace(cuts=b.cuts, draw=draw) for name, b in batches.items()}

    data = _prefetcher(tiny_corpus, 2)
    data.finish = finish
    assert [data.next()["en"].draw for _ in range(4)] == [0, 1, 2, 3]
    assert all(t.startswith("soups-data") for t, _ in seen)
    data.load_state_dict(data.state_dict(), start=40)          # a resume at step 20 with accumulate 2
    assert data.draw == 40 and [data.next()["fr"].draw for _ in range(2)] == [40, 41]
    data.close()
    with pytest.raises(RuntimeError, match="closed"):
        data.next()


@pytest.mark.parametrize("setting, device, depth", [("auto", "cpu", 0), ("auto", "cuda", 1), (0, "cuda", 0),
                                                    (3, "cpu", 3)])
def test_auto_prefetches_on_a_gpu_only(setting, device, depth):
    import torch

    from soups.train.loop import prefetch_depth

    assert prefetch_depth(SimpleNamespace(data=SimpleNamespace(prefetch=setting)), torch.device(device)) == depth


def test_a_bad_prefetch_value_names_the_key():
    from soups.train.config import load_config

    with pytest.raises(ConfigError, match="data.prefetch.*>= 0"):
        load_config(DEMO, ["data.prefetch=-1"])
    with pytest.raises(ConfigError, match="data.prefetch.*'often'"):
        load_config(DEMO, ["data.prefetch=often"])
