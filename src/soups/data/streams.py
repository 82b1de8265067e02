"""One batch stream per objective group: lhotse ``DynamicBucketingSampler`` over lazily read manifests, with
the paper's sampling controls and exact resume.

* **Sources**: a stream reads one or more manifests (:class:`Source`: language, prepared directory, split).
* **Subset**: a fixed fraction of a manifest (the first ``fraction × N`` cuts; the paper uses the
  top 50 % of English).
* **Upsampling**: a language's cuts repeated ``k`` times per epoch (paper: Ca and Es ×4, Fr and De ×2).
* **Pooling**: several sources (languages, corpora, the self-supervised stream) are interleaved lazily with
  ``CutSet.mux`` in proportion to their (subsetted, upsampled) sizes.
* **Equal batch sizes**: every stream gets the same ``max_cuts`` (and/or ``max_duration``) constraint.
* **Distributed**: every rank samples the same *global* batch and keeps its shard (``cuts[rank::world]``), so
  N processes see exactly the utterances one process would (the property the MOO reductions rely on).
* **Exact resume**: the state is ``(epoch, batches consumed in that epoch)``; restoring rebuilds the sampler
  and fast-forwards, so prefetching never makes the state drift.

>>> stream = Stream(StreamConfig("fr", (Source("fr", "data/synthetic-tiny", "train"),), max_cuts=8), collate_fn)
... # doctest: +SKIP
>>> batch = stream.next_batch()                                                                  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lhotse import CutSet
from lhotse.dataset import DynamicBucketingSampler

from soups.data.manifests import count_cuts, load_cuts, manifest_path
from soups.data.skips import SkipLog
from soups.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """One manifest feeding a stream: a language's split in a prepared data directory, with the paper's
    sampling controls (a fixed leading ``fraction`` of it, repeated ``upsample`` times per epoch)."""

    lang: str
    dir: str
    split: str
    fraction: float = 1.0
    upsample: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.fraction <= 1:
            raise ConfigError(f"data.subset_fraction.{self.lang}", f"must be in (0, 1], got {self.fraction}")
        if int(self.upsample) != self.upsample or self.upsample < 1:
            raise ConfigError(f"data.upsample.{self.lang}", f"must be a positive integer, got {self.upsample}")

    @property
    def path(self) -> Path:
        return feature_manifest(self.dir, self.lang, self.split)


@dataclass
class StreamConfig:
    name: str
    sources: tuple[Source, ...]
    max_cuts: int | None = 16
    max_duration: float | None = None
    num_buckets: int = 8
    shuffle: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_cuts is None and self.max_duration is None:
            raise ConfigError("data.batch", "give max_cuts and/or max_duration")
        if not self.sources:
            raise ConfigError("data", f"stream {self.name!r} has no data source")

    @property
    def split(self) -> str:
        return "+".join(sorted({s.split for s in self.sources}))


def feature_manifest(data_dir: str | Path, lang: str, split: str) -> Path:
    """The manifest with precomputed features when it exists, else the audio manifest."""
    with_feats = manifest_path(Path(data_dir) / "fbank", lang, split)
    return with_feats if with_feats.is_file() else manifest_path(data_dir, lang, split)


def stream_cuts(cfg: StreamConfig) -> tuple[CutSet, int]:
    """The (lazy) cuts of one epoch and their number."""
    parts, sizes = [], []
    for src in cfg.sources:
        cuts, n = load_cuts(src.path), count_cuts(src.path)
        if src.fraction < 1.0:
            n = max(1, math.ceil(src.fraction * n))
            cuts = cuts.subset(first=n)
        if src.upsample > 1:
            cuts = cuts.repeat(times=int(src.upsample))
            n *= int(src.upsample)
        parts.append(cuts)
        sizes.append(n)
    if len(parts) == 1:
        return parts[0], sizes[0]
    return CutSet.mux(*parts, weights=sizes, seed=cfg.seed), sum(sizes)


class Stream:
    """An endless sequence of batches for one stream (new epoch = new shuffle)."""

    def __init__(self, cfg: StreamConfig, collate_fn: Callable, keep: Callable | None = None,
                 skips: SkipLog | None = None, rank: int = 0, world_size: int = 1):
        self.cfg, self.collate_fn = cfg, collate_fn
        self.keep, self.skips = keep, skips if skips is not None else SkipLog()
        self.rank, self.world_size = rank, world_size
        self._skipped_ids: set[str] = set()
        self.cuts, self.num_cuts = stream_cuts(cfg)
        self.epoch, self.batches = 0, 0
        self._iter = None

    def _filter(self, cut) -> bool:
        if self.keep is None:
            return True
        reason = self.keep(cut)
        if reason is None:
            return True
        if cut.id not in self._skipped_ids:  # count each cut once, not once per epoch
            self._skipped_ids.add(cut.id)
            self.skips.skip(reason, None, None, f"stream {self.cfg.name}: cut {cut.id}",
                            lang=cut.supervisions[0].language if cut.supervisions else None, split=self.cfg.split)
        return False

    def _new_sampler(self) -> DynamicBucketingSampler:
        cuts = self.cuts.filter(self._filter) if self.keep is not None else self.cuts
        sampler = DynamicBucketingSampler(
            cuts, max_cuts=self.cfg.max_cuts, max_duration=self.cfg.max_duration, shuffle=self.cfg.shuffle,
            num_buckets=self.num_buckets(), seed=self.cfg.seed, world_size=1, rank=0, drop_last=False,
            buffer_size=max(2000, min(20000, self.num_cuts)), num_cuts_for_bins_estimate=2000)
        sampler.set_epoch(self.epoch)
        return sampler

    def num_buckets(self) -> int:
        """``cfg.num_buckets``, reduced for small streams so that buckets hold >= 4 full batches (fewer
        partial batches: objectives keep near-equal batch sizes)."""
        per_batch = self.cfg.max_cuts or 16
        return max(2, min(self.cfg.num_buckets, self.num_cuts // (4 * per_batch)))  # lhotse needs >= 2

    def _next_cuts(self):
        if self._iter is None:
            self._iter = iter(self._new_sampler())
        for _ in range(2):
            try:
                return next(self._iter)
            except StopIteration:
                self.epoch, self.batches = self.epoch + 1, 0
                self._iter = iter(self._new_sampler())
        raise RuntimeError(f"stream {self.cfg.name!r} has no data (every cut was filtered out: "
                           f"{self.skips.summary()})")

    def next_batch(self):
        """The next batch (this rank's shard of the global batch), collated."""
        cuts = list(self._next_cuts())
        self.batches += 1
        positions = list(range(self.rank, len(cuts), self.world_size))
        batch = self.collate_fn(self.cfg.name, [cuts[i] for i in positions])
        batch.global_index, batch.global_size = positions, len(cuts)
        return batch

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "batches": self.batches}

    def load_state_dict(self, state: dict) -> None:
        """Rebuild the sampler at ``epoch`` and skip the batches already consumed."""
        self.epoch, self.batches = int(state["epoch"]), 0
        self._iter = iter(self._new_sampler())
        for _ in range(int(state["batches"])):
            next(self._iter)
            self.batches += 1
