"""Load a trained experiment (config, tokenizers, CMVN, a checkpoint) and evaluate it.

Everything comes from the experiment directory; checkpoints load with ``weights_only=True``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from soups import lock
from soups.atomic import atomic_write_text
from soups.data.features import load_input_transform
from soups.data.tokenizer import load_tokenizers
from soups.errors import CheckpointError, ConfigError
from soups.eval.evaluate import DecodeOptions, evaluate
from soups.eval.fusions import build_lm_fusions
from soups.train.build import build_model
from soups.train.checkpoint import latest_checkpoint, latest_step, load_checkpoint
from soups.train.config import load_config


def checkpoint_path(exp: Path, which: str) -> Path:
    ckpt_dir = exp / "checkpoints"
    if which in ("best", "latest"):
        best, latest = ckpt_dir / "best.pt", latest_checkpoint(ckpt_dir)
        if which == "best" and best.is_file():
            return best
        if latest is not None:
            return latest
        raise CheckpointError(f"{ckpt_dir}: no checkpoint found (train first: soups train … --out {exp})")
    if which == "averaged":
        path = ckpt_dir / "averaged.pt"
        if not path.is_file():
            raise CheckpointError(f"{path} not found (run: soups average {exp} --last N)")
        return path
    path = Path(which)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found")
    return path


def load_experiment(exp: str | Path, which: str = "best", device: str | torch.device = "cpu",
                    overrides: list[str] = ()):
    """``(cfg, model, tokenizers, cmvn)`` of an experiment, the model in eval mode on ``device``;
    ``overrides``: ``eval.*`` config keys changed for this decoding (``eval.lm.weight=0.8``)."""
    exp = Path(exp)
    if not (exp / "config.yaml").is_file():
        raise CheckpointError(f"{exp} is not an experiment directory (no config.yaml)")
    for item in overrides:
        if not item.startswith("eval."):
            raise ConfigError(item.split("=")[0], "only eval.* keys can be changed when decoding a trained "
                                                  "experiment")
    cfg = load_config(exp / "config.yaml", overrides)
    exported = is_export(exp)
    if exported:  # the backbone beside the config (soups export), wherever the directory now is
        cfg.model.encoder["hf"]["path"] = str(exp / BACKBONE_DIR)
    tokenizers = load_tokenizers(exp / "tokenizers.json")
    cmvn = load_input_transform(exp / "cmvn.json")
    model = build_model(cfg, tokenizers)
    try:
        if exported:
            model.objectives.load_state_dict(load_checkpoint(exp / HEADS_FILE, map_location="cpu"))
        else:
            model.load_state_dict(load_checkpoint(checkpoint_path(exp, which), map_location="cpu")["model"])
    except (RuntimeError, KeyError) as err:
        raise CheckpointError(f"checkpoint does not match the experiment's model: {err}") from None
    return cfg, model.to(device).eval(), tokenizers, cmvn


BACKBONE_DIR, HEADS_FILE = "backbone", "heads.pt"


def is_export(exp: Path) -> bool:
    """Whether ``exp`` is an exported model (``soups export``): backbone directory + heads, no checkpoints."""
    return (exp / BACKBONE_DIR / "config.json").is_file() and (exp / HEADS_FILE).is_file()


def decode_options(cfg, exp: Path, tokenizers: dict, ctc_beam: int | None = None,
                   decoder_beam: int | None = None, lm: bool = True) -> DecodeOptions:
    """The config's decoding options (``eval``), beams overridden if given; with ``lm`` and a CTC beam > 1,
    the n-gram LM fusions of ``eval.lm``."""
    ctc_beam = ctc_beam if ctc_beam is not None else cfg.eval.ctc_beam
    fusions = build_lm_fusions(cfg, exp, tokenizers) if lm and ctc_beam > 1 else {}
    return DecodeOptions(ctc_beam, decoder_beam if decoder_beam is not None else cfg.eval.decoder_beam,
                         cfg.eval.max_len_ratio, cfg.eval.batch_cuts, cfg.eval.ctc_topk, fusions,
                         cfg.eval.ctc_workers or available_cores())


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def training_status(exp: str | Path, cfg) -> dict:
    """How far training went: ``steps`` (the latest checkpoint's), ``max_steps`` (the schedule's end) and
    ``cut`` — True when it stopped before the schedule ended (``train.max_minutes``, or an interrupted run):
    such a model is not the one the config describes, and every table that shows it says so. An export
    carries the status of the run it came from."""
    if is_export(Path(exp)) and (Path(exp) / "training.json").is_file():
        saved = json.loads((Path(exp) / "training.json").read_text())
        return {k: saved[k] for k in ("steps", "max_steps", "cut")}
    steps = latest_step(Path(exp) / "checkpoints")
    return {"steps": steps, "max_steps": cfg.train.max_steps, "cut": steps < cfg.train.max_steps}


def evaluate_experiment(exp: str | Path, split: str = "test", which: str = "best", data_dir: str | None = None,
                        ctc_beam: int | None = None, decoder_beam: int | None = None,
                        max_utterances: int | None = None, lm: bool = True, overrides: list[str] = (),
                        out_name: str | None = None) -> dict:
    """Decode ``split`` and score it; hypotheses, references and ``results.json`` go to
    ``EXP/eval/<out_name or split>/``, locked while they are written (:mod:`soups.lock`: a second evaluation
    into the same folder is a :class:`~soups.errors.BusyError`; training into ``EXP`` meanwhile is fine)."""
    exp = Path(exp)
    out_dir = exp / "eval" / (out_name or split)
    with lock.hold(out_dir):
        device = "cuda" if torch.cuda.is_available() else "cpu"
        cfg, model, tokenizers, cmvn = load_experiment(exp, which, device, overrides)
        if data_dir is not None:
            cfg.data.dir = data_dir
        opts = decode_options(cfg, exp, tokenizers, ctc_beam, decoder_beam, lm)
        sources = {lang: cfg.data.sources(lang, split) for lang in cfg.supervised_langs}
        results = evaluate(model, sources, tokenizers, cmvn, split, opts, out_dir, max_utterances, device)
        results.update(checkpoint=which, out_dir=str(out_dir), training=training_status(exp, cfg))
        atomic_write_text(out_dir / "results.json", json.dumps(results, indent=1, ensure_ascii=False))
    return results
