"""soups.data.batch.FeatureCache: decoded features kept in memory, bounded, least recently used evicted —
and batches identical with and without it."""

from __future__ import annotations

import threading

import pytest
import torch

from soups.data.batch import FeatureCache, collate, load_cut_features
from soups.data.manifests import load_cuts
from soups.data.streams import Source


@pytest.fixture(scope="module")
def cuts(tiny_corpus):
    out = list(load_cuts(Source("en", str(tiny_corpus), "train").path))[:6]
    assert all(c.has_features for c in out)   # stored (lilcom) features, as training reads them
    return out


def nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def test_a_cached_matrix_is_the_decoded_one_and_a_second_load_is_a_hit(cuts):
    cache = FeatureCache(2**30)
    first = [cache(c) for c in cuts]
    again = [cache(c) for c in cuts]
    assert (cache.misses, cache.hits) == (len(cuts), len(cuts))
    assert cache.bytes == sum(nbytes(m) for m in first)
    for c, a, b in zip(cuts, first, again):
        assert b is a                                   # served from memory, not decoded again
        assert torch.equal(a, load_cut_features(c))     # bit-identical to decoding


def test_the_least_recently_used_matrices_leave_beyond_the_bound(cuts):
    sizes = [nbytes(load_cut_features(c)) for c in cuts[:3]]
    cache = FeatureCache(sizes[0] + sizes[1] + sizes[2] - 1)   # room for two of the three, not all
    cache(cuts[0]), cache(cuts[1])
    cache(cuts[0])                                   # cut 1 is now the least recently used
    cache(cuts[2])                                   # over the bound: cut 1 leaves
    assert cache.bytes <= cache.max_bytes
    assert cache.bytes == sizes[0] + sizes[2]
    hits = cache.hits
    cache(cuts[0]), cache(cuts[2])
    assert cache.hits == hits + 2
    cache(cuts[1])
    assert cache.hits == hits + 2 and cache.misses == 4  # decoded again


def test_a_zero_bound_keeps_nothing_and_a_matrix_larger_than_the_bound_is_not_kept(cuts):
    for bound in (0, nbytes(load_cut_features(cuts[0])) - 1):
        cache = FeatureCache(bound)
        cache(cuts[0]), cache(cuts[0])
        assert (cache.hits, cache.misses, cache.bytes) == (0, 2, 0)


def test_the_key_tells_apart_two_spans_of_one_recording(cuts):
    cut = cuts[0]
    head = cut.truncate(duration=cut.duration / 2)
    assert FeatureCache.key(head) != FeatureCache.key(cut)
    cache = FeatureCache(2**30)
    assert cache(head).shape[0] < cache(cut).shape[0]


def test_batches_with_and_without_the_cache_are_equal_and_the_cache_stays_unchanged(cuts):
    from soups.data.features import GlobalCMVN

    cmvn = GlobalCMVN(torch.full((80,), 3.0), torch.full((80,), 2.0))
    cache = FeatureCache(2**30)
    plain = collate("en", cuts, cmvn)
    for _ in range(2):  # the second pass reads every matrix from memory
        cached = collate("en", cuts, cmvn, features=cache)
        assert torch.equal(cached.feats, plain.feats) and torch.equal(cached.feat_lens, plain.feat_lens)
    for c in cuts:  # normalising and padding copied the matrices: the cached ones are still the decoded ones
        assert torch.equal(cache(c), load_cut_features(c))


def test_threads_sharing_a_cache_keep_its_byte_count_right(cuts):
    cache = FeatureCache(2**30)
    threads = [threading.Thread(target=lambda: [cache(c) for c in cuts * 5]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.hits + cache.misses == 4 * 5 * len(cuts)
    assert cache.bytes == sum(nbytes(load_cut_features(c)) for c in cuts)
