"""Deployment resources (the paper's Table 9): one multi-task model vs one single-objective model per task.

The multi-task model is measured from a trained run (its checkpoint's weights); each single-objective model
is the same config with only that objective, built with fresh weights (no training needed: parameters,
storage and load time do not depend on the values). Deployed models hold the encoder and the supervised
heads: self-supervised layers are training-only and left out of both. Storage is the size of a saved
weights-only state dict (no optimizer state); load time is the median over ``repeats`` of building the
model and loading its weights from disk (CPU).
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import torch


def _measure(build, state: dict, repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pt"
        torch.save(state, path)
        size = path.stat().st_size
        times = []
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            model = build()
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            times.append(time.perf_counter() - t0)
    params = sum(p.numel() for p in model.parameters())
    return {"parameters": int(params), "bytes": int(size), "load_seconds": statistics.median(times)}


def measure_resources(exp: str | Path, checkpoint: str = "best", repeats: int = 3) -> dict:
    """``{"multi": {parameters, bytes, load_seconds}, "single": [{objective, …}], "single_total": {…}}``."""
    from soups.data.tokenizer import load_tokenizers
    from soups.eval.experiment import checkpoint_path
    from soups.train.build import build_model
    from soups.train.checkpoint import load_checkpoint
    from soups.train.config import load_config

    exp = Path(exp)
    cfg = load_config(exp / "config.yaml")
    tokenizers = load_tokenizers(exp / "tokenizers.json")
    supervised = [o for o in cfg.objectives if o.task != "ssl"]
    if not supervised:
        raise ValueError(f"{exp}: no supervised objective to deploy")
    deploy = dataclasses.replace(cfg, objectives=supervised)
    own = build_model(deploy, tokenizers).state_dict()
    saved = load_checkpoint(checkpoint_path(exp, checkpoint))["model"]
    state = {k: saved[k] for k in own}  # KeyError: the checkpoint does not match its own config
    multi = _measure(lambda: build_model(deploy, tokenizers), state, repeats)
    single = []
    for obj in supervised:
        one = dataclasses.replace(cfg, objectives=[obj])
        fresh = build_model(one, tokenizers).state_dict()
        single.append({"objective": obj.name, **_measure(lambda one=one: build_model(one, tokenizers), fresh, repeats)})
    total = {k: sum(s[k] for s in single) for k in ("parameters", "bytes", "load_seconds")}
    return {"run": str(exp), "multi": multi, "single": single, "single_total": total,
            "objectives": [o.name for o in supervised]}


def resource_rows(res: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the Table 9-style comparison."""
    n = len(res["single"])
    m, s = res["multi"], res["single_total"]
    header = ["Resource", "1 multi-task model", f"{n} single-objective models", "ratio"]
    rows = [["Parameters (M)", f"{m['parameters'] / 1e6:.3f}", f"{s['parameters'] / 1e6:.3f}",
             f"{s['parameters'] / m['parameters']:.2f}x"],
            ["Storage (MB)", f"{m['bytes'] / 1e6:.2f}", f"{s['bytes'] / 1e6:.2f}", f"{s['bytes'] / m['bytes']:.2f}x"],
            ["Load time (s)", f"{m['load_seconds']:.3f}", f"{s['load_seconds']:.3f}",
             f"{s['load_seconds'] / max(m['load_seconds'], 1e-9):.2f}x"]]
    return header, rows
