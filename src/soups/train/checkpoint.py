"""Checkpoints: atomic saves, safe loads, RNG states, a keep-last/keep-best manager, and averaging.

Checkpoints are ``torch.save`` files of plain containers (dict, list, tuple), Python scalars, strings,
None and tensors only, so that they load with ``torch.load(weights_only=True)``, which never unpickles
arbitrary objects: a tampered file cannot run code. :func:`save_checkpoint` checks the state first (a
numpy value or custom object is an error naming its key); :func:`rng_state` gives RNG states in that
form. Writes are atomic (temporary file in the same directory, fsync, ``os.replace``).

>>> import tempfile, torch
>>> d = tempfile.mkdtemp()
>>> save_checkpoint(f"{d}/c.pt", {"model": {"w": torch.ones(2)}, "step": 7, "rng": rng_state()})
>>> ckpt = load_checkpoint(f"{d}/c.pt")
>>> ckpt["step"], ckpt["model"]["w"].tolist()
(7, [1.0, 1.0])
"""

from __future__ import annotations

import json
import math
import os
import pickle
import random
import re
import shutil
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from soups.atomic import atomic_write
from soups.errors import CheckpointError

_SCALARS = (str, int, float, bool, type(None), torch.dtype, torch.device, torch.Size)
_CKPT_NAME = re.compile(r"^ckpt-(\d+)\.pt$")


def _check_loadable(obj, where: str) -> None:
    """Raise CheckpointError if ``obj`` would not load with ``weights_only=True``."""
    if type(obj) in _SCALARS or type(obj) in (torch.Tensor, torch.nn.Parameter):  # exact: np.float64 is a float
        return
    if type(obj) in (dict, OrderedDict):
        for k, v in obj.items():
            _check_loadable(k, f"{where} key {k!r}")
            _check_loadable(v, f"{where}[{k!r}]")
        return
    if type(obj) in (list, tuple, set, frozenset):
        for i, v in enumerate(obj):
            _check_loadable(v, f"{where}[{i}]")
        return
    raise CheckpointError(
        f"{where} is a {type(obj).__module__}.{type(obj).__qualname__}; checkpoints hold only tensors, "
        "dicts, lists, tuples, sets, str, int, float, bool and None (convert it, e.g. numpy -> torch.tensor)"
    )


def _torch_save_to(state: dict, tmp: Path) -> None:
    with open(tmp, "xb") as f:
        torch.save(state, f)  # looked up at call time (tests make it fail midway)


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Atomically write ``state`` (a dict loadable with ``weights_only=True``; checked first) to ``path``."""
    path = Path(path)
    if not isinstance(state, dict):
        raise CheckpointError(f"cannot save {path}: the state must be a dict, got {type(state).__name__}")
    _check_loadable(state, f"cannot save {path}: state")
    atomic_write(path, lambda tmp: _torch_save_to(state, tmp))


def _refusal_detail(err: Exception) -> str:
    """The informative line of a weights_only unpickler error."""
    lines = [ln.strip() for ln in str(err).splitlines() if "GLOBAL" in ln or "Unsupported" in ln]
    return lines[0] if lines else str(err).splitlines()[0] if str(err) else type(err).__name__


def load_checkpoint(path: str | Path, map_location: str | torch.device | None = "cpu") -> dict:
    """Load a checkpoint with ``torch.load(weights_only=True)``; every failure is a CheckpointError.

    Files holding other Python objects (possibly malicious pickles) are refused, never unpickled.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} not found")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} is not a file")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected pickle protocol")  # the refusal says more
            obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{path}: refused by the safe loader ({_refusal_detail(err)}): the file is corrupt or holds Python "
            "objects other than tensors and plain containers, which are never unpickled as they could run code"
        ) from err
    except Exception as err:  # truncated zip, garbage bytes, empty file: torch raises many types
        raise CheckpointError(f"{path}: corrupt or truncated checkpoint ({type(err).__name__}: {err})") from err
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a dict of state, found a {type(obj).__name__}")
    return obj


def rng_state() -> dict:
    """Python ``random``, numpy global, torch CPU and CUDA RNG states in a weights_only-loadable form."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    return {
        "python": [version, list(internal), gauss],
        "numpy": {"bit_generator": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` captured (keys absent from ``state`` are left alone)."""
    if "python" in state:
        version, internal, gauss = state["python"]
        random.setstate((int(version), tuple(int(x) for x in internal), gauss))
    if "numpy" in state:
        s = state["numpy"]
        keys = np.asarray(torch.as_tensor(s["keys"]).numpy(), dtype=np.uint32)
        np.random.set_state((s["bit_generator"], keys, int(s["pos"]), int(s["has_gauss"]), float(s["cached_gaussian"])))
    if "torch" in state:
        torch.set_rng_state(torch.as_tensor(state["torch"], dtype=torch.uint8).cpu())
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available():
        for i in range(min(len(cuda), torch.cuda.device_count())):
            torch.cuda.set_rng_state(torch.as_tensor(cuda[i], dtype=torch.uint8).cpu(), device=i)
    elif cuda:
        warnings.warn("checkpoint holds CUDA RNG states but CUDA is not available: they are not restored")


def _link_or_copy(src: Path, dst: Path) -> None:
    """Atomically make ``dst`` a hard link to ``src`` (a copy where links are unsupported)."""

    def write(tmp: Path) -> None:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)

    atomic_write(dst, write)


def _step(path: Path) -> int:
    return int(_CKPT_NAME.match(path.name).group(1))


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The ``ckpt-<step>.pt`` file of the highest step in ``directory`` (None if none), from the names alone."""
    directory = Path(directory)
    if not directory.is_dir():
        return None
    return max((p for p in directory.iterdir() if _CKPT_NAME.match(p.name)), key=_step, default=None)


def latest_step(directory: str | Path) -> int:
    """The highest step of the ``ckpt-<step>.pt`` files in ``directory`` (0 if none), from the names alone."""
    path = latest_checkpoint(directory)
    return 0 if path is None else _step(path)


class CheckpointManager:
    """``ckpt-<step:08d>.pt`` files in one directory: the last ``keep_last`` are kept, plus the best one
    by ``best_metric`` (``mode`` ``"min"`` or ``"max"``) as ``best.pt``; ``checkpoints.json`` indexes them.

    >>> import tempfile
    >>> m = CheckpointManager(tempfile.mkdtemp(), keep_last=2, best_metric="wer", mode="min")
    >>> for step, wer in [(1, 30.0), (2, 20.0), (3, 25.0), (4, 26.0)]:
    ...     _ = m.save(step, {"step": step}, {"wer": wer})
    >>> [p.name for p in m.list()], load_checkpoint(m.best_path())["step"]
    (['ckpt-00000003.pt', 'ckpt-00000004.pt'], 2)
    """

    INDEX, BEST = "checkpoints.json", "best.pt"

    def __init__(self, directory: str | Path, keep_last: int = 3, best_metric: str | None = None, mode: str = "min"):
        if not isinstance(keep_last, int) or keep_last < 1:
            raise ValueError(f"keep_last must be an integer >= 1, got {keep_last!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.dir, self.keep_last, self.best_metric, self.mode = Path(directory), keep_last, best_metric, mode
        self.dir.mkdir(parents=True, exist_ok=True)
        self._index = self._read_index()

    def _read_index(self) -> dict:
        fresh = {"best_metric": self.best_metric, "mode": self.mode, "best": None, "checkpoints": []}
        path = self.dir / self.INDEX
        if not path.exists():
            return fresh
        try:
            index = json.loads(path.read_text(encoding="utf-8"))
            index["checkpoints"] = list(index["checkpoints"])
        except (ValueError, KeyError, TypeError) as err:
            raise CheckpointError(f"{path}: unreadable checkpoint index ({err})") from err
        if (index.get("best_metric"), index.get("mode")) != (self.best_metric, self.mode):
            index.update(fresh)  # another criterion: forget the old best and metric values
        return index

    def _better(self, value: float) -> bool:
        best = self._index["best"]
        return best is None or (value < best["value"] if self.mode == "min" else value > best["value"])

    def save(self, step: int, state: dict, metrics: dict | None = None) -> Path:
        """Write ``ckpt-<step>.pt``, update ``best.pt`` if ``metrics[best_metric]`` improved, prune, index.

        Steps are expected to increase; saves without the metric never become the best.
        """
        path = self.dir / f"ckpt-{int(step):08d}.pt"
        save_checkpoint(path, state)
        value = None if metrics is None or self.best_metric is None else metrics.get(self.best_metric)
        value = float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
        if value is not None and self._better(value):
            _link_or_copy(path, self.dir / self.BEST)
            self._index["best"] = {"step": int(step), "path": self.BEST, "source": path.name, "value": value}
        old = {e["step"]: e for e in self._index["checkpoints"]}
        old[int(step)] = {"step": int(step), "path": path.name, "metric": value}
        files = self.list()
        for stale in files[: -self.keep_last]:
            stale.unlink(missing_ok=True)
        best_step = (self._index["best"] or {}).get("step")
        self._index["checkpoints"] = [
            {**old.get(s, {"step": s, "path": p.name, "metric": None}), "is_best": s == best_step}
            for s, p in ((_step(p), p) for p in files[-self.keep_last:])
        ]
        text = json.dumps(self._index, indent=2)
        atomic_write(self.dir / self.INDEX, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return path

    def list(self) -> list[Path]:
        """The ``ckpt-*.pt`` files on disk, oldest step first."""
        return sorted((p for p in self.dir.iterdir() if _CKPT_NAME.match(p.name)), key=_step)

    def latest(self) -> Path | None:
        """The checkpoint with the highest step, or None."""
        files = self.list()
        return files[-1] if files else None

    def best_path(self) -> Path | None:
        """``best.pt`` if a checkpoint was ever best by the metric, else None."""
        path = self.dir / self.BEST
        return path if path.exists() else None

    def best_value(self) -> float | None:
        """The best metric value seen so far, or None."""
        return None if self._index["best"] is None else self._index["best"]["value"]


def average_checkpoints(paths: Sequence[str | Path], key: str | None = "model") -> dict:
    """Elementwise mean of the state dicts ``ckpt[key]`` (``key=None``: the whole checkpoint).

    Floating tensors are summed in float64 and cast back; integer/bool tensors (counters) and
    non-tensor entries come from the last checkpoint. Different keys, shapes or dtypes: CheckpointError.
    """
    if not paths:
        raise CheckpointError("average_checkpoints: no checkpoints given")
    acc, first, last = {}, {}, {}
    for i, path in enumerate(paths):
        ckpt = load_checkpoint(path)
        sd = ckpt if key is None else ckpt.get(key)
        if not isinstance(sd, dict):
            raise CheckpointError(f"{path}: no state dict under key {key!r}")
        if i == 0:
            first = {k: (v.shape, v.dtype) if torch.is_tensor(v) else None for k, v in sd.items()}
            acc = {k: v.double().clone() for k, v in sd.items() if torch.is_tensor(v) and v.is_floating_point()}
        else:
            _check_same(first, sd, path, paths[0])
            for k in acc:
                acc[k] += sd[k].double()
        last = sd
    n = len(paths)
    return {k: (acc[k] / n).to(first[k][1]) if k in acc else last[k] for k in first}


def _check_same(ref: dict, sd: dict, path, ref_path) -> None:
    """Same keys, and per tensor the same shape and dtype, as the first checkpoint."""
    if set(ref) != set(sd):
        missing, extra = sorted(set(ref) - set(sd)), sorted(set(sd) - set(ref))
        raise CheckpointError(f"{path}: keys differ from {ref_path} (missing {missing[:5]}, unexpected {extra[:5]})")
    for k, meta in ref.items():
        v = sd[k]
        got = (v.shape, v.dtype) if torch.is_tensor(v) else None
        if got != meta:
            raise CheckpointError(f"{path}: {k!r} is {got}, but {meta} in {ref_path}")
