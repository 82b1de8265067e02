"""Batch streams: synchronised duration buckets across the streams of an experiment, epochs of a fixed number of
batches that cycle a small stream's cuts, exact resume across those epochs, and a clear error for a stream whose
every cut is filtered out."""

from __future__ import annotations

import bisect
from types import SimpleNamespace

import pytest

from soups.data.streams import Source, Stream, StreamConfig, synchronise
from soups.errors import DataError


def _collate(name, cuts):
    return SimpleNamespace(cuts=cuts)


def _streams(corpus, sync_epoch: int | None, max_cuts: int = 4):
    en = Stream(StreamConfig("en", (Source("en", str(corpus), "train"),), max_cuts=max_cuts, seed=1), _collate)
    pooled = Stream(StreamConfig("fr+de", (Source("fr", str(corpus), "train"), Source("de", str(corpus), "train")),
                                 max_cuts=max_cuts, seed=2), _collate)
    if sync_epoch is not None:
        synchronise([en, pooled], sync_epoch)
    return en, pooled


def _bucket_agreement(streams, bins, steps: int) -> float:
    """The share of steps at which every stream's batch lies in one and the same duration bucket."""
    agree = 0
    for _ in range(steps):
        buckets = [{bisect.bisect_right(bins, c.duration) for c in s.next_batch().cuts} for s in streams]
        agree += len(buckets[0]) == 1 and all(b == buckets[0] for b in buckets)
    return agree / steps


def test_synchronised_streams_share_bins_and_batch_similar_durations_across_epochs(tiny_corpus):
    en, pooled = _streams(tiny_corpus, sync_epoch=25)
    assert en.cfg.duration_bins == pooled.cfg.duration_bins and len(en.cfg.duration_bins) >= 1
    assert en.cfg.epoch_batches == pooled.cfg.epoch_batches == 25
    bins = list(en.cfg.duration_bins)
    # 60 steps: the English stream (40 cuts, 10 batches a pass) cycles 6 times, both restart at steps 25 and 50
    synced = _bucket_agreement([en, pooled], bins, 60)
    unsynced = _bucket_agreement(_streams(tiny_corpus, sync_epoch=None), bins, 60)
    assert synced >= 0.8 and synced > unsynced + 0.2, (synced, unsynced)


def test_an_epoch_is_epoch_batches_long_and_cycles_a_small_stream(tiny_corpus):
    en, _ = _streams(tiny_corpus, sync_epoch=25)
    seen = []
    for _ in range(25):
        seen += [c.id for c in en.next_batch().cuts]
    assert en.state_dict() == {"epoch": 0, "batches": 25}
    assert len(seen) == 100 and len(set(seen)) == 40    # every cut, most of them more than once
    en.next_batch()
    assert en.state_dict() == {"epoch": 1, "batches": 1}


@pytest.mark.parametrize("consumed", [7, 25, 31])
def test_resume_continues_exactly_across_cycles_and_epochs(tiny_corpus, consumed):
    ref, _ = _streams(tiny_corpus, sync_epoch=25)
    for _ in range(consumed):
        ref.next_batch()
    resumed, _ = _streams(tiny_corpus, sync_epoch=25)
    resumed.load_state_dict(ref.state_dict())
    for _ in range(30):
        assert [c.id for c in resumed.next_batch().cuts] == [c.id for c in ref.next_batch().cuts]
    assert resumed.state_dict() == ref.state_dict()


def test_a_stream_whose_every_cut_is_filtered_out_is_an_error_not_a_hang(tiny_corpus):
    en = Stream(StreamConfig("en", (Source("en", str(tiny_corpus), "train"),), max_cuts=4, seed=1), _collate,
                keep=lambda cut: "too_short_for_ctc")
    synchronise([en], 10)
    with pytest.raises(DataError, match="stream 'en' has no data.*too_short_for_ctc") as err:
        en.next_batch()
    assert str(err.value).startswith(str(tiny_corpus))   # names the manifest, one line
    assert "\n" not in str(err.value)
    assert en.skips.counts()["too_short_for_ctc"] == 40   # each cut counted once, not once per cycle


def test_a_small_stream_is_read_once_its_filter_runs_once_per_cut_and_its_batches_do_not_change(tiny_corpus,
                                                                                                 tmp_path):
    """Epochs restart the sampler, which fills its buffer with the whole stream: kept in memory, the manifest is
    read once (here it is deleted after the stream is built) and each cut's filter verdict is computed once —
    and the batches are those of the lazily read stream."""
    import shutil

    (tmp_path / "fbank").mkdir()
    manifest = Source("en", str(tiny_corpus), "train").path
    shutil.copy(manifest, tmp_path / "fbank" / manifest.name)

    def run(in_memory: int | None, delete: bool):   # None: the default limit (50,000 cuts)
        calls = []
        stream = Stream(StreamConfig("en", (Source("en", str(tmp_path), "train"),), max_cuts=4, seed=1,
                                     in_memory_cuts=in_memory), _collate,
                        keep=lambda cut: calls.append(cut.id) or (None if len(calls) % 7 else "too_short_for_ctc"))
        synchronise([stream], 10)
        if delete:
            (tmp_path / "fbank" / manifest.name).unlink()
        return [[c.id for c in stream.next_batch().cuts] for _ in range(35)], calls, stream.skips.counts()

    lazy, lazy_calls, lazy_skips = run(0, delete=False)
    kept, calls, skips = run(None, delete=True)   # 3.5 epochs of 10 batches without the manifest
    assert kept == lazy and skips == lazy_skips
    assert len(calls) == len(set(calls)) == 40 == len(set(lazy_calls))
