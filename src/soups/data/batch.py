"""Collating cuts into a batch for one stream: padded features, lengths and every target the stream's
objectives may need (ASR tokens of normalised transcripts, translation tokens, speaker gender).

Shapes: ``feats (B, T, 80)`` float32, CMVN-normalised, zero-padded; ``feat_lens (B,)`` int64 — or, for a
pretrained backbone (:class:`~soups.data.features.WaveformInput`), the waveform ``(B, S, 1)`` and samples.

A :class:`FeatureCache` keeps decoded feature matrices in memory: training draws every utterance many times,
and decompressing its stored (lilcom) matrix each time was most of a CPU step's data time (docs/performance.md,
"Decoded features kept in memory"). The cached matrices are the decoded ones: the batches are bit-identical
with or without it.

Example:
    >>> cache = FeatureCache(max_bytes=2**20)
    >>> cache.max_bytes, cache.bytes, cache.hits, cache.misses
    (1048576, 0, 0, 0)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from soups.data.features import NUM_MEL_BINS, GlobalCMVN, WaveformInput, fbank_extractor
from soups.data.text import normalize_asr
from soups.errors import DataError


@dataclass
class Batch:
    """One stream's batch. Token lists are unpadded; heads pad them as they need."""

    stream: str
    feats: torch.Tensor                  # (B, T, F)
    feat_lens: torch.Tensor              # (B,)
    cut_ids: list[str]
    langs: list[str]
    texts: list[str]                     # normalised ASR transcripts
    translations: list[str]              # raw translation text ("" when none)
    asr_tokens: list[list[int]] = field(default_factory=list)
    st_tokens: list[list[int]] = field(default_factory=list)
    genders: list[str | None] = field(default_factory=list)
    ssl: Any = None                      # the model's prepared self-supervised batch (targets, masks), if any
    global_index: list[int] = field(default_factory=list)  # position of each utterance in the global batch
    global_size: int = 0                 # utterances in the global batch (all ranks together)

    def __len__(self) -> int:
        return len(self.cut_ids)

    def to(self, device, dtype: torch.dtype | None = None) -> "Batch":
        self.feats, self.feat_lens = self.feats.to(device, dtype), self.feat_lens.to(device)
        return self

    def select(self, index: list[int]) -> "Batch":
        """A sub-batch (e.g. one half, for MoDo's double sampling), trimmed to its longest utterance."""
        idx = torch.tensor(index, dtype=torch.long)
        lens = self.feat_lens[idx]
        t_max = int(lens.max()) if len(index) else 0
        pick = lambda xs: [xs[i] for i in index] if xs else []  # noqa: E731
        ssl = self.ssl.index_select(idx) if self.ssl is not None else None
        return Batch(self.stream, self.feats[idx, :t_max], lens, pick(self.cut_ids), pick(self.langs),
                     pick(self.texts), pick(self.translations), pick(self.asr_tokens), pick(self.st_tokens),
                     pick(self.genders), ssl, pick(self.global_index), self.global_size)

    def halves(self) -> list[list[int]]:
        """Row indices of the two halves used as MoDo's independent samples: the first ceil(N/2) utterances
        of the *global* batch, and the rest — the same split whatever the number of ranks. A 1-utterance
        global batch is used as both samples."""
        index = self.global_index or list(range(len(self)))
        size = self.global_size or len(self)
        if size < 2:
            return [list(range(len(self))), list(range(len(self)))]
        cut = (size + 1) // 2
        return [[i for i, g in enumerate(index) if g < cut], [i for i, g in enumerate(index) if g >= cut]]


def load_cut_features(cut, extractor=None):
    """Precomputed features when the cut has them, else fbank computed from its audio."""
    if cut.has_features:
        try:
            feats = cut.load_features()
        except Exception as err:  # a missing or truncated feature file: lhotse/lilcom raise assorted errors
            raise DataError(f"cannot read the features of cut {cut.id} ({type(err).__name__}: {err}); "
                            "re-run `soups features DIR --force`", cut.features.storage_path) from None
        where = cut.features.storage_path
    else:
        extractor = extractor or fbank_extractor()
        feats = extractor.extract(cut.load_audio(), cut.sampling_rate)
        where = cut.recording.sources[0].source if cut.recording is not None else None
    if not np.isfinite(feats).all():
        raise DataError(f"cut {cut.id}: non-finite features (NaN or inf); `soups features` skips such audio "
                        "— re-run it with --force", where)
    return torch.from_numpy(feats)


class FeatureCache:
    """:func:`load_cut_features` with the decoded ``(T, 80)`` matrices kept in memory, the least recently used
    evicted beyond ``max_bytes`` (0: nothing kept). Thread-safe (the prefetch thread collates). The returned
    tensors are shared with the cache: callers copy them (``collate`` does), never modify them in place."""

    def __init__(self, max_bytes: int):
        self.max_bytes, self.bytes, self.hits, self.misses = max_bytes, 0, 0, 0
        self._items: OrderedDict[tuple, torch.Tensor] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(cut) -> tuple:
        """What identifies a cut's matrix: its id and span, and where its features are stored (if anywhere)."""
        stored = (cut.features.storage_path, cut.features.storage_key) if cut.has_features else ()
        return (cut.id, cut.start, cut.duration, *stored)

    def __call__(self, cut) -> torch.Tensor:
        key = self.key(cut)
        with self._lock:
            feats = self._items.get(key)
            if feats is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return feats
        feats = load_cut_features(cut)
        size = feats.numel() * feats.element_size()
        with self._lock:
            self.misses += 1
            if size <= self.max_bytes and key not in self._items:
                self._items[key] = feats
                self.bytes += size
                while self.bytes > self.max_bytes:
                    _, old = self._items.popitem(last=False)
                    self.bytes -= old.numel() * old.element_size()
        return feats


def collate(stream: str, cuts, cmvn: GlobalCMVN | WaveformInput | None, asr_tokenizers: dict | None = None,
            st_tokenizer=None, features: Callable[[Any], torch.Tensor] = load_cut_features) -> Batch:
    """Cuts -> :class:`Batch` (features padded with zeros after normalisation; with :class:`WaveformInput` the
    waveform ``(B, S, 1)``, lengths in samples). ``features`` loads one cut's matrix (a :class:`FeatureCache`
    to keep them)."""
    cuts = list(cuts)
    waveform = isinstance(cmvn, WaveformInput)
    if not cuts:  # an empty shard (a global batch smaller than the number of ranks)
        dim = 1 if waveform else NUM_MEL_BINS
        return Batch(stream, torch.zeros(0, 0, dim), torch.zeros(0, dtype=torch.long), [], [], [], [])
    mats = [cmvn.load(c) if waveform else features(c) for c in cuts]
    lens = torch.tensor([m.shape[0] for m in mats], dtype=torch.long)
    feats = torch.zeros(len(mats), int(lens.max()), mats[0].shape[1])
    for i, m in enumerate(mats):
        feats[i, : m.shape[0]] = cmvn(m) if cmvn is not None else m
    sups = [c.supervisions[0] for c in cuts]
    langs = [s.language for s in sups]
    texts = [normalize_asr(s.text or "", lang) for s, lang in zip(sups, langs)]
    translations = [(s.custom or {}).get("translation", "") for s in sups]
    batch = Batch(stream, feats, lens, [c.id for c in cuts], langs, texts, translations,
                  genders=[s.gender for s in sups])
    if asr_tokenizers:
        batch.asr_tokens = [asr_tokenizers[lang].encode(t) if lang in asr_tokenizers else []
                            for lang, t in zip(langs, texts)]
    if st_tokenizer is not None:
        batch.st_tokens = [st_tokenizer.encode(t) for t in translations]
    return batch
