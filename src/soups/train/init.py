"""Starting a run from another run's weights, and freezing parts of the model (two-stage and PEFT recipes).

Config keys: ``train.init_from: PATH`` (a checkpoint, or an experiment directory: its latest checkpoint;
parameters with the same name and shape are copied — the encoder must match, heads the new run does not have
are ignored, new heads start fresh; the fbank normalisation ``cmvn.json`` of that experiment is the new
run's, and so are its tokenizers — the loaded heads were trained on them —, see
:func:`soups.train.build.build_cmvn` and :func:`~soups.train.build.build_tokenizers`) and
``train.freeze: [encoder | layer:<group> | <objective selector>, ...]`` (selectors: an objective name or glob,
``task:asr``, ``lang:fr``, ``supervised``). What happened is written to ``EXP/init.json``.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

from soups.atomic import atomic_write_text
from soups.errors import CheckpointError, ConfigError
from soups.train.checkpoint import latest_checkpoint, load_checkpoint


def matches(obj: dict, selector: str) -> bool:
    """``task:asr``, ``lang:fr``, ``supervised`` (every task but SSL), or an fnmatch pattern / exact name."""
    if selector == "supervised":
        return obj.get("task") != "ssl"
    if selector.startswith("task:"):
        return obj.get("task") == selector[5:]
    if selector.startswith("lang:"):
        return obj.get("lang") == selector[5:]
    return fnmatch.fnmatchcase(str(obj.get("name", "")), selector)


def select(objectives: list[dict], selectors: list[str], key: str) -> list[dict]:
    """The objectives matched by any selector, in their original order; a selector matching nothing is an error."""
    keep = set()
    for sel in selectors:
        hits = {i for i, o in enumerate(objectives) if matches(o, sel)}
        if not hits:
            raise ConfigError(key, f"selector {sel!r} matches no objective", choices=[o.get("name") for o in objectives])
        keep |= hits
    return [o for i, o in enumerate(objectives) if i in keep]


def init_checkpoint(path: str | Path) -> Path:
    """``path`` itself, or the latest ``checkpoints/ckpt-<step>.pt`` of an experiment directory."""
    path = Path(path)
    if not path.is_dir():
        return path
    latest = latest_checkpoint(path / "checkpoints")
    if latest is None:
        raise CheckpointError(f"train.init_from: {path} is a directory without checkpoints/ckpt-<step>.pt "
                              "(give an experiment directory that has trained, or a checkpoint file)")
    return latest


def init_experiment(path: str | Path) -> Path | None:
    """The experiment ``train.init_from`` names: the directory itself, or the one whose ``checkpoints/`` holds
    the file; None for a checkpoint file outside an experiment."""
    path = Path(path)
    exp = path if path.is_dir() else path.parent.parent
    return exp if (exp / "config.yaml").is_file() else None


def init_from_checkpoint(model, path: str | Path) -> dict:
    """Load the parameters of ``path`` (a trainer checkpoint, or an experiment directory's latest one) that
    ``model`` has, by name and shape."""
    path = init_checkpoint(path)
    state = load_checkpoint(path)
    if "model" not in state:
        raise CheckpointError(f"{path}: no model state in this checkpoint")
    saved, own = state["model"], model.state_dict()
    loaded, new, mismatched = [], [], []
    for k, v in own.items():
        if k not in saved:
            new.append(k)
        elif tuple(saved[k].shape) != tuple(v.shape):
            mismatched.append(f"{k}: {tuple(saved[k].shape)} in the checkpoint, {tuple(v.shape)} here")
        else:
            loaded.append(k)
    missing_enc = [k for k in new if k.startswith("encoder.")]
    if mismatched or missing_enc:
        problems = mismatched[:5] + [f"{k}: missing" for k in missing_enc[:5]]
        raise CheckpointError(f"{path}: cannot initialise this model from it (the runs must share the encoder "
                              "and tokenizers): " + "; ".join(problems))
    model.load_state_dict({k: saved[k] for k in loaded}, strict=False)
    unused = sorted({k.split(".")[1] for k in saved if k not in own and k.startswith("objectives.")})
    return {"from": str(path), "step": state.get("step"), "loaded": len(loaded), "new": sorted(new),
            "unused_heads": unused}


def freeze(model, targets: list[str], key: str = "train.freeze") -> list[str]:
    """Freeze the named parts of a :class:`soups.multitask.MultiTaskModel`; returns the frozen parameter names."""
    params = dict(model.named_parameters())
    names: set[str] = set()
    objs = [{"name": o.name, "task": o.task, "lang": o.lang} for o in model.objectives.values()]
    groups = model.layer_groups()
    for target in targets:
        if target == "encoder":
            names |= {f"encoder.{n}" for n, _ in model.encoder.named_parameters()}
        elif target.startswith("layer:"):
            group = target[6:]
            if group not in groups:
                raise ConfigError(key, f"unknown layer group {group!r}", choices=list(groups))
            ids = {id(p) for p in groups[group]}
            names |= {n for n, p in params.items() if id(p) in ids}
        else:
            for o in select(objs, [target], key):
                names |= {n for n in params if n.startswith(f"objectives.{o['name']}.")}
    for n in names:
        params[n].requires_grad_(False)
    return sorted(names)


def apply_init_and_freeze(model, init_from: str | None, targets: list[str], exp_dir: Path) -> dict:
    """``train.init_from`` then ``train.freeze``; the report goes to ``EXP/init.json``."""
    report: dict = {}
    if init_from:
        report = init_from_checkpoint(model, init_from)
    if targets:
        frozen = set(freeze(model, list(targets)))
        report["frozen"] = {"targets": list(targets), "parameters": len(frozen),
                            "elements": sum(p.numel() for n, p in model.named_parameters() if n in frozen)}
    if report:
        atomic_write_text(Path(exp_dir) / "init.json", json.dumps(report, indent=1))
    return report
