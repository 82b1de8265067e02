"""The ``data`` and ``tokenizers`` sections of the experiment config (:mod:`soups.train.config` composes them):
which prepared directories and splits feed each language's stream, batch sizes, the paper's sampling controls,
SpecAugment, and the tokenizers trained on the training transcripts. Checked at load (dotted keys in errors)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from soups.config_schema import check_ranges
from soups.errors import ConfigError


@dataclass
class SpecAugmentConfig:
    enabled: bool = True
    freq_masks: int = 2
    freq_width: int = 27
    time_masks: int = 10
    time_width_ratio: float = 0.05

    def validate(self, prefix: str) -> None:
        check_ranges(self, prefix, {"freq_masks": ">=0", "freq_width": ">=0", "time_masks": ">=0",
                                    "time_width_ratio": "0..1"})


@dataclass
class SourceSpec:
    """A manifest: ``dir`` (default ``data.dir``), ``split``, and optional sampling controls (default: the
    language-level ``data.subset_fraction`` / ``data.upsample``)."""

    dir: str | None = None
    split: str | None = None
    fraction: float | None = None
    upsample: int | None = None


@dataclass
class DataConfig:
    dir: str = "data/synthetic-small"          # a prepared data directory (soups prepare …)
    batch_cuts: int = 16                       # utterances per objective batch (equal for all objectives)
    max_duration: float | None = None          # optional seconds cap per batch
    num_buckets: int = 8
    subset_fraction: dict[str, float] = field(default_factory=dict)  # e.g. {en: 0.5} (paper: top 50 % of En)
    upsample: dict[str, int] = field(default_factory=dict)           # e.g. {ca: 4, es: 4, fr: 2, de: 2}
    specaugment: SpecAugmentConfig = field(default_factory=SpecAugmentConfig)
    dev_utterances: int = 100                  # per language, for periodic dev evaluation
    prefetch: int | Literal["auto"] = "auto"   # steps of batches prepared ahead in a background thread
                                               # (soups.data.prefetch); 0: in the step; auto: 1 on a GPU, 0
                                               # on a CPU (slower there: soups.train.loop.prefetch_depth)
    feature_cache_mb: int = 1024               # decoded training features kept in memory per process (MiB;
                                               # 0: decode every draw) — same batches, less data time
    in_memory_cuts: int | None = None          # a stream of up to this many cuts is parsed once and kept in
                                               # memory (~2 KB a cut); None: soups.data.streams.IN_MEMORY_CUTS
    train_split: str = "train"
    dev_split: str = "dev"
    test_split: str = "test"
    # Per-language manifests when one directory and split names are not enough (LibriSpeech part names,
    # several corpora, several test sets, unlabeled SSL audio). Languages not listed use the defaults above.
    train_sources: dict[str, list[SourceSpec]] = field(default_factory=dict)
    dev_sources: dict[str, SourceSpec] = field(default_factory=dict)
    test_sources: dict[str, list[SourceSpec]] = field(default_factory=dict)
    ssl_sources: dict[str, list[SourceSpec]] = field(default_factory=dict)

    def validate(self, prefix: str) -> None:
        check_ranges(self, prefix, {"batch_cuts": ">=1", "max_duration": ">0", "num_buckets": ">=1",
                                    "subset_fraction": "(0,1]", "upsample": ">=1", "dev_utterances": ">=1",
                                    "feature_cache_mb": ">=0", "in_memory_cuts": ">=0"})
        if self.prefetch != "auto":
            check_ranges(self, prefix, {"prefetch": ">=0"})

    def sources(self, lang: str, kind: str = "train") -> list:
        """Resolved :class:`soups.data.streams.Source` list of a language for ``train``, ``ssl``, ``dev``,
        ``test`` or any other split name (read from ``data.dir``)."""
        from soups.data.streams import Source

        default_split = {"train": self.train_split, "ssl": self.train_split, "dev": self.dev_split,
                         "test": self.test_split}.get(kind, kind)
        specs = {"train": self.train_sources.get(lang), "test": self.test_sources.get(lang),
                 "ssl": self.ssl_sources.get(lang) or self.train_sources.get(lang),
                 "dev": [self.dev_sources[lang]] if lang in self.dev_sources else None}.get(kind)
        sampling = kind in ("train", "ssl")
        out = []
        for spec in specs or [SourceSpec()]:
            frac = spec.fraction if spec.fraction is not None else self.subset_fraction.get(lang, 1.0)
            up = spec.upsample if spec.upsample is not None else self.upsample.get(lang, 1)
            out.append(Source(lang, spec.dir or self.dir, spec.split or default_split,
                              frac if sampling else 1.0, up if sampling else 1))
        return out


@dataclass
class TokenizerSpec:
    kind: Literal["spm", "char"] = "spm"
    vocab_size: int = 256

    def validate(self, prefix: str) -> None:
        if self.vocab_size < 6:
            raise ConfigError(f"{prefix}.vocab_size", f"must be >= 6 (4 special ids and 2 symbols), got "
                                                      f"{self.vocab_size}")


@dataclass
class TokenizersConfig:
    asr: TokenizerSpec = field(default_factory=TokenizerSpec)                   # per ASR language
    asr_per_language: dict[str, TokenizerSpec] = field(
        default_factory=lambda: {"zh": TokenizerSpec("char", 5000)})           # overrides (paper: zh chars)
    st: TokenizerSpec = field(default_factory=lambda: TokenizerSpec("spm", 256))  # English targets
