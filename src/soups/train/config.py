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
from typing import Literal

import yaml

from soups.config_schema import apply_overrides, build, check_ranges, to_dict
from soups.data.config import (  # noqa: F401  (the data package owns its config)
    DataConfig, SourceSpec, SpecAugmentConfig, TokenizersConfig, TokenizerSpec,
)
from soups.errors import ConfigError
from soups.model.config import ENCODER_KINDS, ModelConfig, hf_encoder_config  # noqa: F401  (the model's)
from soups.moo.config import LayerSelectionConfig, MooConfig, SketchConfig  # noqa: F401  (the MOO owns its config)
from soups.objectives import HEADS, ObjectiveConfig  # noqa: F401  (the objectives own their config)

TASKS = ("asr", "st", "ssl", "gender")


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
    # objective's backward only traverses its own stream (faithful/layers: ~5x cheaper on CPU, soups bench moo);
    # per_half: one call per batch half of each stream (MoDo's double sampling), so that each half's
    # per-objective backward traverses only its own half. auto: joint in linear/fast mode (one backward: the
    # bigger batch uses threads better), per_half in faithful/layers mode with double sampling "halves",
    # else per_stream (see ExperimentConfig.joint_encoder_forward)
    encoder_forward: Literal["auto", "joint", "per_stream", "per_half"] = "auto"
    init_from: str | None = None         # start from this checkpoint's weights (or an experiment dir's latest)
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
        self._validate_hierarchy()
        used = set(self.supervised_langs) | {lang for o in self.objectives if o.task == "ssl"
                                             for lang in (o.langs or self.supervised_langs)}
        for key in ("train_sources", "dev_sources", "test_sources", "ssl_sources", "subset_fraction", "upsample"):
            unused = sorted(set(getattr(self.data, key)) - used)
            if unused:
                raise ConfigError(f"data.{key}", f"language(s) {unused} are used by no objective",
                                  choices=sorted(used))

    def _validate_hierarchy(self) -> None:
        """``moo.hierarchy`` against the objectives — levels (names, presets), penalty schedules per level,
        the weighting and its options — at load, before tokenizers or the model are built: the hierarchy the
        trainer will build (:func:`soups.train.build.build_moo`), built once and dropped."""
        from soups.moo.hierarchy import Hierarchy

        try:
            Hierarchy(self.moo.hierarchy, [o.name for o in self.objectives], key="moo.hierarchy",
                      ssl=[o.name for o in self.objectives if o.task == "ssl"],
                      tags={o.name: {"task": o.task, "lang": o.lang or ""} for o in self.objectives})
        except (ValueError, TypeError) as err:   # ConfigError (a SoupsError) passes through as it is
            raise ConfigError("moo.hierarchy", str(err)) from None

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

    def half_encoder_forward(self) -> bool:
        """Whether the encoder runs once per batch half of each stream (``train.encoder_forward``:
        ``per_half``, or ``auto`` in faithful/layers mode with double sampling ``halves``): each half's
        per-objective VJPs then traverse only that half's graph. Only where the engine takes per-sample
        gradients; otherwise the stream's single call serves."""
        if self.moo.mode == "linear" or self.moo.double_sampling != "halves" or self.joint_encoder_forward():
            return False
        return self.train.encoder_forward == "per_half" or (self.train.encoder_forward == "auto"
                                                           and self.moo.mode in ("faithful", "layers"))


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
