"""Build an experiment from its config: tokenizers and CMVN (trained on train splits, saved in the experiment
directory), the multi-task model, one batch stream per objective group, the optimizer, the LR schedule and
the gradient engine. Functions with fixed roles, as in icefall recipes.
"""

from __future__ import annotations

import dataclasses
import gzip
import logging
import math
from pathlib import Path

import torch

from soups.data.batch import FeatureCache, collate
from soups.data.features import (
    CMVNAccumulator, GlobalCMVN, WaveformInput, ctc_frames_needed, frames_after_subsampling, load_input_transform,
    longer_than_window, num_samples,
)
from soups.data.manifests import load_cuts
from soups.data.skips import SkipLog
from soups.data.streams import Stream, StreamConfig, synchronise
from soups.data.text import normalize_asr
from soups.data.tokenizer import load_tokenizers, save_tokenizers, train_tokenizer
from soups.errors import ConfigError, DataError
from soups.model import ConformerEncoder, EncoderConfig, get_preset
from soups.model.config import hf_encoder_config
from soups.model.hf import HFEncoder
from soups.moo.api import MultiObjective
from soups.multitask import MultiTaskModel
from soups.objectives import build_objective
from soups.train.config import ExperimentConfig
from soups.train.init import init_experiment

log = logging.getLogger(__name__)
TOKENIZERS_FILE, CMVN_FILE, LM_DIR = "tokenizers.json", "cmvn.json", "lm"


def stream_sources(cfg: ExperimentConfig) -> dict[str, list]:
    """``{stream: [Source, …]}``: one stream per supervised language, plus the SSL stream (pooled)."""
    out = {lang: cfg.data.sources(lang, "train") for lang in cfg.supervised_langs}
    for o in cfg.objectives:
        if o.task == "ssl":
            out["ssl"] = [src for lang in (o.langs or cfg.supervised_langs) for src in cfg.data.sources(lang, "ssl")]
    return out


def _texts(cfg: ExperimentConfig, lang: str, field: str) -> list[str]:
    texts = []
    for src in cfg.data.sources(lang, "train"):
        for cut in load_cuts(src.path):
            sup = cut.supervisions[0]
            texts.append(normalize_asr(sup.text or "", lang) if field == "asr"
                         else (sup.custom or {}).get("translation", ""))
    return texts


def build_tokenizers(cfg: ExperimentConfig, exp_dir: Path) -> dict:
    """``{"asr_<lang>": tok, "st": tok}``; trained on train splits once, then loaded from the experiment.

    A run started from another experiment (``train.init_from``) keeps that experiment's tokenizer for every key
    it has — the heads it loads were trained on those symbols; a tokenizer of the same size but another
    vocabulary would load them silently wrong — and trains only the new ones (a language it did not have)."""
    path = exp_dir / TOKENIZERS_FILE
    if path.is_file():
        return load_tokenizers(path)
    specs = {f"asr_{lang}": (cfg.tokenizers.asr_per_language.get(lang, cfg.tokenizers.asr),
                             f"tokenizers.asr_per_language.{lang}" if lang in cfg.tokenizers.asr_per_language
                             else "tokenizers.asr", [lang], "asr")
             for lang in sorted({o.lang for o in cfg.objectives if o.task == "asr"})}
    st_langs = sorted({o.lang for o in cfg.objectives if o.task == "st"})
    if st_langs:
        specs["st"] = (cfg.tokenizers.st, "tokenizers.st", st_langs, "st")
    inherited, source = _init_tokenizers(cfg)
    toks = {}
    for name, (spec, key, langs, field) in specs.items():
        if name in inherited:
            if inherited[name].kind != spec.kind:
                raise ConfigError(f"{key}.kind", f"train.init_from's experiment ({source}) trained its heads with "
                                  f"a {inherited[name].kind} tokenizer for {name}; use kind "
                                  f"{inherited[name].kind} here", choices=[inherited[name].kind])
            toks[name] = inherited[name]
        else:
            toks[name] = _train(spec, [t for lang in langs for t in _texts(cfg, lang, field)], key)
    if inherited:
        log.info("tokenizers %s: train.init_from's experiment (%s)", sorted(set(toks) & set(inherited)), source)
    save_tokenizers(toks, path)
    return toks


def _pretrained(cfg: ExperimentConfig) -> Path | None:
    """The experiment ``train.init_from`` names (None without one, or for a checkpoint outside an experiment)."""
    return init_experiment(cfg.train.init_from) if cfg.train.init_from else None


def _init_tokenizers(cfg: ExperimentConfig) -> tuple[dict, Path | None]:
    """The tokenizers of ``train.init_from``'s experiment (none without one) and its ``tokenizers.json``."""
    pretrained = _pretrained(cfg)
    if pretrained is None or not (pretrained / TOKENIZERS_FILE).is_file():
        return {}, None
    return load_tokenizers(pretrained / TOKENIZERS_FILE), pretrained / TOKENIZERS_FILE


def lm_texts(cfg: ExperimentConfig, exp_dir: Path) -> dict[str, list[str]]:
    """The training transcripts an n-gram LM is trained on, per CTC tokenizer (``asr_<lang>``, and ``st`` for
    CTC translation heads): written once to ``EXP/lm/<key>.txt.gz`` (the experiment stays self-contained),
    then read from there."""
    keys = {f"asr_{o.lang}": (o.lang, "asr") for o in cfg.objectives if o.task == "asr"}
    st_langs = sorted({o.lang for o in cfg.objectives if o.task == "st" and o.head == "ctc"})
    out = {}
    for key in sorted(set(keys) | ({"st"} if st_langs else set())):
        path = exp_dir / LM_DIR / f"{key}.txt.gz"
        if not path.is_file():
            texts = (_texts(cfg, *keys[key]) if key in keys
                     else [t for lang in st_langs for t in _texts(cfg, lang, "st")])
            path.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(path.with_suffix(".tmp"), "wt", encoding="utf-8") as f:
                f.writelines(" ".join(t.split()) + "\n" for t in texts)
            path.with_suffix(".tmp").replace(path)
        with gzip.open(path, "rt", encoding="utf-8") as f:
            out[key] = [line.rstrip("\n") for line in f]
    return out


def _train(spec, texts: list[str], key: str):
    try:
        return train_tokenizer(spec.kind, texts, spec.vocab_size)
    except DataError as err:
        raise ConfigError(f"{key}.vocab_size", err.message) from None


def build_cmvn(cfg: ExperimentConfig, exp_dir: Path, max_per_lang: int = 2000) -> GlobalCMVN | WaveformInput:
    """Global CMVN from the train split (first ``max_per_lang`` utterances of each language); the raw-waveform
    input for a transformers backbone (it normalises on its own). A run started from another experiment
    (``train.init_from``) keeps that experiment's statistics: the pretrained encoder's input stays as it was
    trained, as a transformers backbone keeps its own normaliser."""
    path = exp_dir / CMVN_FILE
    if path.is_file():
        return load_input_transform(path)
    if is_hf(cfg):
        inputs = WaveformInput()
        inputs.save(path)
        return inputs
    pretrained = _pretrained(cfg)
    if pretrained is not None and (pretrained / CMVN_FILE).is_file():
        cmvn = load_input_transform(pretrained / CMVN_FILE)
        if isinstance(cmvn, GlobalCMVN):
            cmvn.save(path)
            log.info("input normalisation: %s (train.init_from's experiment)", pretrained / CMVN_FILE)
            return cmvn
    from soups.data.batch import load_cut_features

    acc = CMVNAccumulator()
    sources = {(s.lang, s.dir, s.split): s for srcs in stream_sources(cfg).values() for s in srcs}
    for src in sources.values():
        for i, cut in enumerate(load_cuts(src.path)):
            if i >= max_per_lang:
                break
            acc.add(load_cut_features(cut).numpy())
    cmvn = acc.finalize()
    cmvn.save(path)
    return cmvn


def is_hf(cfg: ExperimentConfig) -> bool:
    """Whether the shared encoder is a transformers backbone (``model.encoder.kind=hf``)."""
    return cfg.model.encoder.get("kind", "conformer") == "hf"


def model_configs(cfg: ExperimentConfig) -> tuple[EncoderConfig | None, dict]:
    """The Conformer config (None for a transformers backbone) and the decoder options: the preset's, with
    ``model.encoder``/``model.decoder``."""
    preset = get_preset(cfg.model.preset)
    try:
        enc_cfg = None if is_hf(cfg) else dataclasses.replace(
            preset.encoder, **{k: v for k, v in cfg.model.encoder.items() if k != "kind"})
        dec = dataclasses.asdict(dataclasses.replace(preset.decoder, **cfg.model.decoder))
    except TypeError as err:
        raise ConfigError("model.encoder / model.decoder", f"unknown option: {err}") from None
    return enc_cfg, dec


def build_encoder(cfg: ExperimentConfig) -> ConformerEncoder | HFEncoder:
    """The shared encoder: the preset's Conformer, or the transformers backbone of ``model.encoder.hf``."""
    if is_hf(cfg):
        return HFEncoder(hf_encoder_config(cfg.model.encoder))
    return ConformerEncoder(model_configs(cfg)[0])


def build_model(cfg: ExperimentConfig, tokenizers: dict) -> MultiTaskModel:
    encoder, dec = build_encoder(cfg), model_configs(cfg)[1]
    factor = 0 if is_hf(cfg) else encoder.cfg.subsampling_factor
    objectives = []
    for o in cfg.objectives:
        vocab = None
        if o.task == "asr":
            vocab = tokenizers[f"asr_{o.lang}"].vocab_size
        elif o.task == "st":
            vocab = tokenizers["st"].vocab_size
        objectives.append(build_objective(o, encoder.d_model, vocab, dec, cfg.model.ssl, factor))
    return MultiTaskModel(encoder, objectives)


def describe_parameters(model: MultiTaskModel) -> str:
    """``"encoder HFEncoder 94.4 M parameters (90.2 M trained), heads 0.3 M"``."""
    m = lambda ps: sum(p.numel() for p in ps) / 1e6  # noqa: E731
    enc, heads = list(model.encoder.parameters()), list(model.objectives.parameters())
    return (f"encoder {type(model.encoder).__name__} {m(enc):.2f} M parameters "
            f"({m(p for p in enc if p.requires_grad):.2f} M trained), heads {m(heads):.2f} M")


def encoder_frames(cfg: ExperimentConfig):
    """``cut -> (encoder frames, None | skip reason)`` without building the model: the Conformer's subsampled
    fbank frames, or the backbone's frames for the cut's samples (and ``too_long_for_backbone`` past Whisper's
    window)."""
    if not is_hf(cfg):
        factor = model_configs(cfg)[0].subsampling_factor
        return lambda cut: (frames_after_subsampling(cut.num_frames if cut.has_features
                                                     else round(cut.duration * 100), factor), None)
    from soups.model import hf

    config = hf.load_hf_config(hf_encoder_config(cfg.model.encoder).path)
    limit = hf.max_samples(config)

    def frames(cut):
        return hf.output_frames(config, num_samples(cut.duration)), \
            ("too_long_for_backbone" if longer_than_window(cut.duration, limit) else None)
    return frames


def ctc_filter(cfg: ExperimentConfig, stream: str, tokenizers: dict):
    """``cut -> None | skip reason`` for the stream's CTC objectives (targets must fit the frames) and the
    backbone's input limit."""
    ctc = [o for o in cfg.objectives if o.stream == stream and o.head == "ctc"]
    count = encoder_frames(cfg)
    if not ctc and not is_hf(cfg):
        return None

    def keep(cut):
        sup = cut.supervisions[0]
        frames, too_long = count(cut)
        if too_long:
            return too_long
        for o in ctc:
            text = normalize_asr(sup.text or "", sup.language) if o.task == "asr" else \
                (sup.custom or {}).get("translation", "")
            tok = tokenizers[f"asr_{sup.language}"] if o.task == "asr" else tokenizers["st"]
            ids = tok.encode(text)
            if not ids:
                return "empty_transcript"
            if ctc_frames_needed(ids) > frames:
                return "too_short_for_ctc"
        return None

    return keep


def stream_configs(cfg: ExperimentConfig) -> dict[str, StreamConfig]:
    """Each stream's sampling config (batch size, buckets, a per-stream seed, the in-memory limit)."""
    return {name: StreamConfig(name, tuple(sources), cfg.data.batch_cuts, cfg.data.max_duration,
                               cfg.data.num_buckets, True, cfg.train.seed * 1000 + i,
                               in_memory_cuts=cfg.data.in_memory_cuts)
            for i, (name, sources) in enumerate(stream_sources(cfg).items())}


def synchronise_streams(cfg: ExperimentConfig, streams: dict[str, Stream]) -> None:
    """Shared duration bins and epoch length (``soups.data.streams``): similar durations in every step."""
    synchronise(list(streams.values()), steps_per_epoch(cfg, streams) * cfg.train.accumulate)


def build_streams(cfg: ExperimentConfig, tokenizers: dict, cmvn: GlobalCMVN, skips: SkipLog,
                  rank: int = 0, world_size: int = 1) -> dict[str, Stream]:
    """One :class:`Stream` per stream of the config, synchronised, sharing one :class:`FeatureCache` of
    ``data.feature_cache_mb``."""
    asr_toks = {k[4:]: t for k, t in tokenizers.items() if k.startswith("asr_")}
    st_tok = tokenizers.get("st")
    cache = FeatureCache(cfg.data.feature_cache_mb * 2**20)
    collate_fn = lambda s, cuts: collate(s, cuts, cmvn, asr_toks, st_tok, cache)  # noqa: E731
    streams = {name: Stream(sc, collate_fn, ctc_filter(cfg, name, tokenizers), skips, rank, world_size)
               for name, sc in stream_configs(cfg).items()}
    synchronise_streams(cfg, streams)
    return streams


def steps_per_epoch(cfg: ExperimentConfig, streams: dict[str, Stream]) -> int:
    """Configured, or batches in one pass over the largest stream."""
    if cfg.train.steps_per_epoch:
        return cfg.train.steps_per_epoch
    batches = max(math.ceil(s.num_cuts / cfg.data.batch_cuts) for s in streams.values())
    return max(1, batches // cfg.train.accumulate)


def build_optimizer(cfg: ExperimentConfig, model: MultiTaskModel) -> torch.optim.Optimizer:
    """AdamW with the backbone at α and the heads at β (docs/method.md, "Objectives and the shared update")."""
    t = cfg.train
    groups = [{"params": [p for p in model.encoder.parameters() if p.requires_grad], "lr": t.lr_backbone,
               "name": "backbone"},
              {"params": [p for p in model.objectives.parameters() if p.requires_grad], "lr": t.lr_heads,
               "name": "heads"}]
    # fused: one kernel for all parameters (a demo step: 3 ms instead of 15 ms on CPU)
    return torch.optim.AdamW(groups, betas=tuple(t.betas), weight_decay=t.weight_decay, fused=True)


def lr_factor(cfg: ExperimentConfig, step: int) -> float:
    """Warm-up then cosine / noam / linear decay / constant, as a factor of the base LR."""
    t = cfg.train
    warm = max(1, t.warmup_steps)
    if step < warm:
        return (step + 1) / warm
    if t.schedule == "constant":
        return 1.0
    if t.schedule == "noam":
        return math.sqrt(warm / (step + 1))
    progress = min(1.0, (step - warm) / max(1, t.max_steps - warm))
    if t.schedule == "linear":
        return t.min_lr_ratio + (1 - t.min_lr_ratio) * (1 - progress)
    return t.min_lr_ratio + (1 - t.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def build_moo(cfg: ExperimentConfig, model: MultiTaskModel, reduce=None) -> MultiObjective:
    """The multi-objective backward of ``cfg.moo`` over the model's encoder (its layer groups), the objectives'
    static weights and hierarchy; ``reduce``: the distributed mean/sum of Gram rows (under torchrun). Non-finite
    values raise (the trainer drops the whole step and counts it)."""
    m, lc = cfg.moo, cfg.moo.layers
    layers = {"rule": lc.rule, "threshold": lc.threshold, "statistic": lc.statistic, "fixed": lc.fixed,
              "refresh_every": lc.refresh_every, "apply": lc.apply, "probe_sketch_k": lc.probe_sketch_k}
    return MultiObjective(
        model.names, model.encoder, m.hierarchy, m.mode, ssl=[o.name for o in cfg.objectives if o.task == "ssl"],
        tags={o.name: {"task": o.task, "lang": o.lang or ""} for o in cfg.objectives},
        weights={o.name: o.weight for o in cfg.objectives}, layer_groups=model.layer_groups(),
        update_every=m.update_every, layers=layers if m.mode == "layers" else None, sketch=m.sketch.k,
        sketch_kind=m.sketch.kind, seed=cfg.train.seed, linear_heads=m.linear_heads, reduce=reduce,
        batched_vjp=m.batched_vjp, on_nonfinite="raise", key="moo.hierarchy")
