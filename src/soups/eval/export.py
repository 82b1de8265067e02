"""Export a model trained on a transformers backbone in a form users share and reload:

    soups export runs/xlsr --out models/xlsr-vm-uas             # the best checkpoint
    soups eval models/xlsr-vm-uas --split test                  # loaded back like an experiment
    soups transcribe models/xlsr-vm-uas --lang fr --task st clip.wav

Layout of ``OUT``::

    backbone/            # the fine-tuned encoder, save_pretrained (+ preprocessor_config.json):
                         #   AutoModel.from_pretrained("OUT/backbone") outside soups (Whisper: WhisperEncoder)
    heads.pt             # the objectives' heads (state_dict, loads with weights_only=True)
    config.yaml          # the experiment's config (model.encoder.hf.path points at backbone/)
    tokenizers.json      # the heads' tokenizers;  cmvn.json: the input kind;  lm/: n-gram LM texts, if any
    training.json        # how far training went (steps, max_steps, cut) and which checkpoint this is
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from soups.atomic import atomic_write_text
from soups.errors import SoupsError
from soups.eval.experiment import BACKBONE_DIR, HEADS_FILE, load_experiment, training_status
from soups.model.hf import HFEncoder
from soups.train.checkpoint import save_checkpoint
from soups.train.config import config_to_yaml


def export_experiment(exp: str | Path, out: str | Path, which: str = "best") -> dict:
    """Write the export of ``exp`` (checkpoint ``which``) to ``out``; returns what was written."""
    exp, out = Path(exp), Path(out)
    cfg, model, _, _ = load_experiment(exp, which)
    if not isinstance(model.encoder, HFEncoder):
        raise SoupsError(f"{exp}: a Conformer experiment is its own shareable form (config.yaml, tokenizers.json, "
                         "cmvn.json, checkpoints/best.pt: copy the directory); soups export writes transformers "
                         "backbones (model.encoder.kind=hf)")
    if out.exists() and any(out.iterdir()):
        raise SoupsError(f"{out} exists and is not empty; give a new directory")
    out.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(out / BACKBONE_DIR)
    save_checkpoint(out / HEADS_FILE, model.objectives.state_dict())
    cfg.model.encoder["hf"]["path"] = BACKBONE_DIR
    atomic_write_text(out / "config.yaml", config_to_yaml(cfg))
    for name in ("tokenizers.json", "cmvn.json"):
        shutil.copy2(exp / name, out / name)
    if (exp / "lm").is_dir():
        shutil.copytree(exp / "lm", out / "lm")
    status = {**training_status(exp, cfg), "checkpoint": which, "from": str(exp)}
    atomic_write_text(out / "training.json", json.dumps(status, indent=1))
    return {"out": str(out), "backbone": str(out / BACKBONE_DIR), "training": status}
