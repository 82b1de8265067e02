"""Helpers of the grid tests: a very small experiment config on the built-in tiny corpus and grid folders
written from it."""

from __future__ import annotations

from pathlib import Path

import yaml

SMALL_MODEL = {"preset": "tiny", "encoder": {"d_model": 32, "num_blocks": 1, "num_heads": 2, "subsampling_channels": 8},
               "decoder": {"num_layers": 1, "num_heads": 2, "ff_dim": 64}, "ssl": {"num_codes": 64}}
OBJECTIVES = [{"name": "asr_en", "task": "asr", "lang": "en"}, {"name": "asr_fr", "task": "asr", "lang": "fr"},
              {"name": "st_fr_en", "task": "st", "lang": "fr", "head": "ctc"},
              {"name": "ssl", "task": "ssl", "head": "bestrq"}]


def base_config(corpus) -> dict:
    return {"data": {"dir": str(corpus), "batch_cuts": 2, "dev_utterances": 2, "num_buckets": 2},
            "tokenizers": {"asr": {"kind": "spm", "vocab_size": 100}, "st": {"kind": "spm", "vocab_size": 100}},
            "model": SMALL_MODEL, "objectives": [dict(o) for o in OBJECTIVES],
            "train": {"warmup_steps": 1, "log_every": 1}, "eval": {"decoder_beam": 1}}


def write_grid(folder: Path, corpus, recipes: dict[str, dict], grid: dict) -> Path:
    """``folder/base.yaml`` + one file per recipe (``{name: recipe data}``, base added) + ``grid.yaml``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "base.yaml").write_text(yaml.safe_dump(base_config(corpus)))
    for i, (name, data) in enumerate(recipes.items()):
        (folder / f"recipe{i}.yaml").write_text(yaml.safe_dump({"name": name, "base": "base.yaml", **data}))
    path = folder / "grid.yaml"
    path.write_text(yaml.safe_dump({"corpus": str(corpus), "test_utterances": 2, **grid}))
    return path
