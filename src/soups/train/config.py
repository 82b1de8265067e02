"""The experiment config: one YAML file builds data streams, tokenizers, model, objectives, MOO and training.

Load with overrides (``dotted.key=value``, values parsed as YAML)::

    cfg = load_config("configs/demo.yaml", ["train.max_steps=100", "moo.mode=fast"])

Every unknown key or bad value raises :class:`~soups.errors.ConfigError` naming the dotted key (and the
valid choices). The resolved config is saved in the experiment directory (``config.yaml``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from soups.config_schema import apply_overrides, build, check_ranges, to_dict
from soups.errors import ConfigError
from soups.moo.config import LayerSelectionConfig, MooConfig, SketchConfig  # noqa: F401  (the MOO owns its config)
from soups.objectives import HEADS, ObjectiveConfig  # noqa: F401  (the objectives own their config)

TASKS = ("asr", "st", "ssl", "gender")
ENCODER_KINDS = ("conformer", "hf")


def hf_encoder_config(encoder: dict):
    """``model.encoder.hf`` as a checked :class:`~soups.model.hf.HFEncoderConfig` (no file is read)."""
    from soups.model.hf import HFEncoderConfig

    spec = encoder.get("hf")
    if not isinstance(spec, dict):
        raise ConfigError("model.encoder.hf", "give the backbone as a mapping: {path: DIR or hub id, …}")
    try:
        return HFEncoderConfig(**spec)
    except TypeError as err:
        raise ConfigError("model.encoder.hf", f"unknown option ({err})") from None
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
                                    "subset_fraction": "(0,1]", "upsample": ">=1", "dev_utterances": ">=1"})

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


@dataclass
class ModelConfig:
    preset: str = "tiny"
    encoder: dict[str, Any] = field(default_factory=dict)   # overrides of soups.model.EncoderConfig fields
    decoder: dict[str, Any] = field(default_factory=dict)   # overrides of soups.model.DecoderConfig fields
    ssl: dict[str, Any] = field(default_factory=dict)       # options of the SSL objective's config

    def validate(self, prefix: str) -> None:
        """``encoder.kind``: ``conformer`` (the preset's, with ``encoder`` overriding its fields) or ``hf`` (a
        transformers backbone, ``encoder.hf`` = :class:`~soups.model.hf.HFEncoderConfig`; nothing else)."""
        kind = self.encoder.get("kind", "conformer")
        if kind not in ENCODER_KINDS:
            raise ConfigError(f"{prefix}.encoder.kind", f"unknown value {kind!r}", choices=ENCODER_KINDS)
        if kind == "conformer" and "hf" in self.encoder:
            raise ConfigError(f"{prefix}.encoder.hf", "only with model.encoder.kind=hf")
        if kind == "hf":
            extra = sorted(set(self.encoder) - {"kind", "hf"})
            if extra:
                raise ConfigError(f"{prefix}.encoder.{extra[0]}", "a Conformer option; with kind=hf the backbone is "
                                  "set under model.encoder.hf (path, freeze_feature_encoder, gradient_checkpointing, "
                                  "mask_time_prob, layerdrop, intermediate_layers)")
            hf_encoder_config(self.encoder)


@dataclass
class TrainConfig:
    seed: int = 0
    max_steps: int = 1000
    steps_per_epoch: int | None = None   # None: batches in one pass over the largest stream
    max_minutes: float | None = None     # optional wall-clock budget (stops early, cleanly)
    lr_backbone: float = 2e-3            # α
    lr_heads: float = 2e-3               # β
    weight_decay: float = 1e-3
    betas: list[float] = field(default_factory=lambda: [0.9, 0.98])
    warmup_steps: int = 200
    schedule: Literal["cosine", "noam", "constant", "linear"] = "cosine"
    min_lr_ratio: float = 0.05
    grad_clip: float = 5.0
    log_every: int = 10
    eval_every: int = 0                  # dev evaluation every N steps (0: only at the end)
    checkpoint_every: int = 0            # 0: at dev evaluations and at the end
    keep_last: int = 3
    best_metric: str = "average"         # "average" (mean of WER-like minus BLEU-like) or an objective name
    device: Literal["auto", "cpu", "cuda"] = "auto"
    bf16: bool = True                    # autocast to bfloat16 on CUDA
    precision: Literal["float32", "float64"] = "float32"  # float64: for verification (e.g. exactness checks)
    threads: int | None = None           # torch intra-op threads on CPU (None: torch default)
    # joint: one encoder call over every stream's utterances; per_stream: one call per stream, so that an
    # objective's backward only traverses its own stream (faithful/layers: ~5x cheaper on CPU, soups bench moo).
    # auto: joint in linear/fast mode (one backward: the bigger batch uses threads better), per_stream in
    # faithful/layers mode (see ExperimentConfig.joint_encoder_forward)
    encoder_forward: Literal["auto", "joint", "per_stream"] = "auto"
    init_from: str | None = None         # start from this checkpoint's weights (same name and shape)
    freeze: list[str] = field(default_factory=list)  # encoder | layer:<group> | objective selectors
    parallel: Literal["data", "objective"] = "data"   # under torchrun: split batches, or objectives (streams)
    dist_timeout_s: int = 1800           # collective timeout (rank 0 evaluates while the others wait)
    # gradient accumulation: micro-batches per optimizer step, their gradients averaged; each micro-batch
    # runs the engine's full update (a MoDo/MGDA λ update included, as with N steps of the smaller batch)
    accumulate: int = 1
    # steps whose update was dropped for non-finite values, in a row, before training stops (exit code 2)
    max_consecutive_skips: int = 20

    def validate(self, prefix: str) -> None:
        check_ranges(self, prefix, {
            "max_steps": ">=1", "steps_per_epoch": ">=1", "max_minutes": ">0", "lr_backbone": ">=0",
            "lr_heads": ">=0", "weight_decay": ">=0", "betas": "[0,1)", "warmup_steps": ">=0", "min_lr_ratio": "0..1",
            "grad_clip": ">0", "log_every": ">=1", "eval_every": ">=0", "checkpoint_every": ">=0", "keep_last": ">=1",
            "threads": ">=1", "dist_timeout_s": ">=1", "accumulate": ">=1", "max_consecutive_skips": ">=1"})


@dataclass
class LMConfig:
    """Shallow fusion of a token n-gram LM into CTC prefix beam search (``soups.eval.ngram_lm``): one LM per
    CTC tokenizer, trained on the training transcripts (kept in ``EXP/lm/``); off when ``order`` is 0."""

    order: int = 0                       # n-gram order (0: no LM)
    weight: float = 0.5                  # LM log-probability weight
    bonus: float = 1.0                   # score per emitted token
    word_order: int = 0                  # > 0: also a word n-gram (character tokenizers with word boundaries)
    word_weight: float = 0.3             # its log-probability weight, added when a word ends

    def validate(self, prefix: str) -> None:
        check_ranges(self, prefix, {"order": ">=0", "weight": ">=0", "bonus": ">=0", "word_order": ">=0",
                                    "word_weight": ">=0"})


@dataclass
class EvalConfig:
    ctc_beam: int = 1                    # 1 = greedy
    ctc_topk: int | None = None          # symbols per frame that may extend a prefix (None: ctc_beam)
    decoder_beam: int = 4
    max_len_ratio: float = 1.5           # decoder max length = ratio * encoder frames (capped)
    batch_cuts: int = 32
    ctc_workers: int | None = None       # processes for CTC beam search (None: one per CPU core this process has)
    lm: LMConfig = field(default_factory=LMConfig)

    def validate(self, prefix: str) -> None:
        check_ranges(self, prefix, {"ctc_beam": ">=1", "decoder_beam": ">=1", "ctc_topk": ">=1", "ctc_workers": ">=1",
                                    "max_len_ratio": ">0", "batch_cuts": ">=1"})
        if self.lm.order > 0 and self.ctc_beam < 2:
            raise ConfigError(f"{prefix}.lm.order", f"LM fusion needs CTC beam search: set {prefix}.ctc_beam "
                                                    f"> 1 (got {self.ctc_beam}) or {prefix}.lm.order 0")


@dataclass
class ExperimentConfig:
    objectives: list[ObjectiveConfig]
    data: DataConfig = field(default_factory=DataConfig)
    tokenizers: TokenizersConfig = field(default_factory=TokenizersConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    moo: MooConfig = field(default_factory=MooConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def validate(self, prefix: str) -> None:
        if self.train.freeze and self.moo.mode != "linear" and any(
                t == "encoder" or t.startswith("layer:") for t in self.train.freeze):
            raise ConfigError("train.freeze", "freezing encoder layers needs moo.mode linear (the other modes "
                              f"take gradients of every encoder layer), got {self.moo.mode!r}")
        names = [o.name for o in self.objectives]
        if not names:
            raise ConfigError("objectives", "at least one objective is needed")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError("objectives", f"duplicate objective name(s) {dup}")
        if sum(o.task == "ssl" for o in self.objectives) > 1:
            raise ConfigError("objectives", "at most one self-supervised objective")
        if self.model.encoder.get("kind") == "hf" and any(o.task == "ssl" for o in self.objectives):
            raise ConfigError("objectives", "a self-supervised objective needs the Conformer encoder (BEST-RQ and CPC "
                              "targets follow its frontend); a transformers backbone was pretrained "
                              "self-supervised already: drop the ssl objective")
        self._validate_word_lm()
        used = set(self.supervised_langs) | {lang for o in self.objectives if o.task == "ssl"
                                             for lang in (o.langs or self.supervised_langs)}
        for key in ("train_sources", "dev_sources", "test_sources", "ssl_sources", "subset_fraction", "upsample"):
            unused = sorted(set(getattr(self.data, key)) - used)
            if unused:
                raise ConfigError(f"data.{key}", f"language(s) {unused} are used by no objective",
                                  choices=sorted(used))

    def _validate_word_lm(self) -> None:
        """A word n-gram (``eval.lm.word_order``) spells words from characters: at least one CTC tokenizer
        must be ``char`` (SentencePiece ones get the token n-gram only), known before training, unlike a
        missing word boundary, which decoding reports."""
        if self.eval.lm.word_order == 0:
            return
        kinds = []
        for o in self.objectives:
            if o.task == "asr":
                spec = self.tokenizers.asr_per_language.get(o.lang, self.tokenizers.asr)
            elif o.task == "st" and o.head == "ctc":
                spec = self.tokenizers.st
            else:
                continue
            kinds.append(spec.kind)
        if "char" not in kinds:
            raise ConfigError("eval.lm.word_order", "the word n-gram needs a character CTC tokenizer; these are "
                                                    f"{sorted(set(kinds)) or 'none'}: set tokenizers.asr.kind char "
                                                    "or eval.lm.word_order 0")

    @property
    def supervised_langs(self) -> list[str]:
        return sorted({o.lang for o in self.objectives if o.task != "ssl" and o.lang})

    def joint_encoder_forward(self) -> bool:
        """Whether the encoder runs once over all streams (``train.encoder_forward``). ``auto``: in linear
        and fast mode (one shared backward; on 2 CPU threads the demo steps in 0.85 s joint vs 1.12 s per
        stream), not in faithful/layers mode, whose per-objective backward passes would each traverse the
        whole joint batch (faithful MoDo 11x -> 2.5x a linear step on CPU with per-stream forwards).

        >>> cfg = load_config(None, data={"objectives": [{"name": "a", "task": "asr", "lang": "en"}]})
        >>> cfg.joint_encoder_forward(), cfg.moo.mode
        (True, 'linear')
        """
        if self.train.encoder_forward != "auto":
            return self.train.encoder_forward == "joint"
        return self.moo.mode in ("linear", "fast")


def load_config(path: str | Path | None, overrides: list[str] = (), data: dict | None = None) -> ExperimentConfig:
    """Read YAML (or take ``data``, which is left unchanged), apply overrides, validate."""
    if data is not None:
        data = copy.deepcopy(data)  # overrides are applied in place
    else:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(str(path), "config file not found")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise ConfigError(str(path), f"not valid YAML: {err}") from None
        if not isinstance(data, dict):
            raise ConfigError(str(path), f"a config is a mapping of sections (data:, model:, …), not a "
                                         f"{type(data).__name__}")
    data = apply_overrides(data, list(overrides))
    return build(ExperimentConfig, data)


def config_to_yaml(cfg: ExperimentConfig) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False, allow_unicode=True)


def config_diff(a: ExperimentConfig, b: ExperimentConfig, ignore: tuple[str, ...] = ()) -> list[str]:
    """Dotted keys whose values differ (``train.max_steps: 100 -> 200``), for refusing a changed resume."""
    out: list[str] = []

    def walk(x, y, key):
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y), key=str):
                walk(x.get(k), y.get(k), f"{key}.{k}" if key else str(k))
        elif x != y and not any(key == i or key.startswith(i + ".") for i in ignore):
            out.append(f"{key}: {x!r} -> {y!r}")

    walk(to_dict(a), to_dict(b), "")
    return out
