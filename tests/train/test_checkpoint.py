"""Checkpoints: atomicity, weights_only safety, RNG round trips, keep-last/best manager, averaging."""

from __future__ import annotations

import doctest
import json
import os
import pickle
import random
import shlex

import numpy as np
import pytest
import torch

from soups.errors import CheckpointError
from soups.train import checkpoint
from soups.train.checkpoint import (
    CheckpointManager,
    average_checkpoints,
    load_checkpoint,
    restore_rng_state,
    rng_state,
    save_checkpoint,
)

torch.set_num_threads(1)


class _Payload:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def test_doctests():
    assert doctest.testmod(checkpoint).failed == 0


def test_round_trip_plain_state(tmp_path):
    state = {
        "model": {"w": torch.randn(3, 4), "n": torch.tensor(5), "h": torch.ones(2, dtype=torch.float16)},
        "optim": {"state": {0: {"step": torch.tensor(3.0)}}, "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.98)}]},
        "meta": {"step": 12, "name": "modo", "flag": True, "none": None, "nested": [1, [2.5, "x"]]},
        "rng": rng_state(),
    }
    save_checkpoint(tmp_path / "a.pt", state)
    got = load_checkpoint(tmp_path / "a.pt")
    assert torch.equal(got["model"]["w"], state["model"]["w"]) and got["model"]["h"].dtype == torch.float16
    assert got["meta"] == state["meta"] and got["optim"]["param_groups"] == state["optim"]["param_groups"]
    assert list(tmp_path.iterdir()) == [tmp_path / "a.pt"]  # no temporary files left


@pytest.mark.parametrize("bad", [np.zeros(3), np.float64(1.0), object(), {np.int64(1): 2}, [1, {np.float32(2)}]])
def test_save_rejects_what_weights_only_would_refuse(tmp_path, bad):
    # control: torch.load(weights_only=True) really refuses these
    torch.save({"extra": bad}, tmp_path / "raw.pt")
    with pytest.raises(pickle.UnpicklingError):
        torch.load(tmp_path / "raw.pt", weights_only=True)
    with pytest.raises(CheckpointError, match=r"state\['extra'\]"):
        save_checkpoint(tmp_path / "a.pt", {"extra": bad})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw.pt"]


def test_save_accepts_what_weights_only_loads(tmp_path):
    state = {"s": {1, 2}, (1, "a"): 3, 1.5: [torch.float16, torch.Size([2]), torch.device("cpu")]}
    save_checkpoint(tmp_path / "a.pt", state)
    assert load_checkpoint(tmp_path / "a.pt") == state


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, {"v": torch.tensor([1.0])})

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a zip")  # some bytes reach the (temporary) file, then the write dies
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"v": torch.tensor([2.0])})
    monkeypatch.undo()
    assert load_checkpoint(path)["v"].tolist() == [1.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]


def _draws():
    return (
        [random.random() for _ in range(3)] + [random.gauss(0, 1)],
        np.random.rand(3).tolist() + [float(np.random.randn())],
        torch.rand(3).tolist() + torch.randn(2).tolist(),
    )


def test_rng_state_round_trip(tmp_path):
    random.gauss(0, 1)  # leaves a cached Gaussian in python's and numpy's generators
    np.random.randn()
    save_checkpoint(tmp_path / "rng.pt", {"rng": rng_state()})
    expected = _draws()
    _draws()  # move all generators on
    restore_rng_state(load_checkpoint(tmp_path / "rng.pt")["rng"])
    assert _draws() == expected


def test_missing_truncated_and_garbage_files(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    save_checkpoint(tmp_path / "good.pt", {"w": torch.randn(64, 64), "step": 3})
    data = (tmp_path / "good.pt").read_bytes()
    for name, payload in [("half.pt", data[: len(data) // 2]), ("head.pt", data[:100]), ("empty.pt", b""),
                          ("junk.pt", b"not a checkpoint at all"), ("proto.pt", b"\x80\x02garbage")]:
        (tmp_path / name).write_bytes(payload)
        with pytest.raises(CheckpointError, match=name):
            load_checkpoint(tmp_path / name)
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="expected a dict"):
        load_checkpoint(tmp_path / "list.pt")


def test_malicious_pickle_is_refused_and_never_runs(tmp_path):
    # control: the payload really runs when unpickled unsafely
    control = tmp_path / "control-marker"
    pickle.loads(pickle.dumps(_Payload(control)))
    assert control.exists()

    marker = tmp_path / "marker"
    torch.save({"model": {"w": torch.ones(1)}, "evil": _Payload(marker)}, tmp_path / "evil.pt")
    for protocol in (2, 4):  # raw pickles too; protocol 4 is refused earlier (FRAME opcode)
        with open(tmp_path / f"evil{protocol}.pkl", "wb") as f:
            pickle.dump({"evil": _Payload(marker)}, f, protocol=protocol)
    for name in ("evil.pt", "evil2.pkl", "evil4.pkl"):
        with pytest.raises(CheckpointError, match=rf"{name}: refused by the safe loader") as err:
            load_checkpoint(tmp_path / name)
        assert "system" in str(err.value) or name == "evil4.pkl"  # names the blocked callable
    assert not marker.exists()


def test_manager_keep_last_and_latest(tmp_path):
    m = CheckpointManager(tmp_path, keep_last=2)
    assert m.latest() is None and m.list() == []
    for step in (100, 200, 300, 400, 500):
        m.save(step, {"step": step})
    assert [p.name for p in m.list()] == ["ckpt-00000400.pt", "ckpt-00000500.pt"]
    assert m.latest() == tmp_path / "ckpt-00000500.pt" and load_checkpoint(m.latest())["step"] == 500
    assert m.best_path() is None
    index = json.loads((tmp_path / "checkpoints.json").read_text())
    assert [e["step"] for e in index["checkpoints"]] == [400, 500]
    assert not any(e["is_best"] for e in index["checkpoints"])


@pytest.mark.parametrize("mode, values, best_step", [
    ("min", [30.0, 20.0, 25.0, None, 21.0, 20.0], 2),  # a tie does not replace the earlier best
    ("max", [10.0, 14.0, 13.0, 15.0, None, 11.0], 4),
])
def test_manager_tracks_best(tmp_path, mode, values, best_step):
    m = CheckpointManager(tmp_path, keep_last=2, best_metric="score", mode=mode)
    for step, v in enumerate(values, start=1):
        m.save(step, {"step": step}, None if v is None else {"score": v, "other": 0.0})
    assert load_checkpoint(m.best_path())["step"] == best_step  # survives pruning of its source file
    assert not (tmp_path / f"ckpt-{best_step:08d}.pt").exists()
    index = json.loads((tmp_path / "checkpoints.json").read_text())
    assert index["best"]["step"] == best_step and index["best"]["value"] == values[best_step - 1]
    assert [e["metric"] for e in index["checkpoints"]] == values[-2:]
    # resuming remembers the best; a worse value does not take over, a better one does
    m2 = CheckpointManager(tmp_path, keep_last=2, best_metric="score", mode=mode)
    worse, better = (99.0, 1.0) if mode == "min" else (1.0, 99.0)
    m2.save(10, {"step": 10}, {"score": worse})
    assert load_checkpoint(m2.best_path())["step"] == best_step
    m2.save(11, {"step": 11}, {"score": better})
    assert load_checkpoint(m2.best_path())["step"] == 11 and m2.best_value() == better
    index = json.loads((tmp_path / "checkpoints.json").read_text())
    assert [(e["step"], e["is_best"]) for e in index["checkpoints"]] == [(10, False), (11, True)]


def test_manager_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="keep_last"):
        CheckpointManager(tmp_path, keep_last=0)
    with pytest.raises(ValueError, match="mode"):
        CheckpointManager(tmp_path, mode="best")


def _model_state(seed):
    g = torch.Generator().manual_seed(seed)
    return {"w": torch.randn(4, 3, generator=g), "b": torch.randn(3, generator=g).half(),
            "count": torch.tensor(seed * 10), "mask": torch.tensor([True, seed % 2 == 0])}


def test_average_three_checkpoints(tmp_path):
    paths = []
    for seed in (1, 2, 3):
        paths.append(tmp_path / f"{seed}.pt")
        save_checkpoint(paths[-1], {"model": _model_state(seed), "step": seed})
    avg = average_checkpoints(paths)
    states = [_model_state(s) for s in (1, 2, 3)]
    manual_w = (states[0]["w"].double() + states[1]["w"].double() + states[2]["w"].double()) / 3
    assert torch.allclose(avg["w"], manual_w.float(), atol=0, rtol=1e-6) and avg["w"].dtype == torch.float32
    assert avg["b"].dtype == torch.float16
    assert torch.equal(avg["b"], (sum(s["b"].double() for s in states) / 3).half())
    assert avg["count"].item() == 30 and avg["mask"].tolist() == [True, False]  # from the last checkpoint
    assert list(avg) == ["w", "b", "count", "mask"]


def test_average_rejects_mismatches(tmp_path):
    save_checkpoint(tmp_path / "a.pt", {"model": {"w": torch.zeros(2, 2), "b": torch.zeros(2)}})
    save_checkpoint(tmp_path / "shape.pt", {"model": {"w": torch.zeros(2, 3), "b": torch.zeros(2)}})
    save_checkpoint(tmp_path / "keys.pt", {"model": {"w": torch.zeros(2, 2), "c": torch.zeros(2)}})
    with pytest.raises(CheckpointError, match="shape.pt.*'w'"):
        average_checkpoints([tmp_path / "a.pt", tmp_path / "shape.pt"])
    with pytest.raises(CheckpointError, match=r"keys.pt: keys differ.*missing \['b'\].*unexpected \['c'\]"):
        average_checkpoints([tmp_path / "a.pt", tmp_path / "keys.pt"])
    with pytest.raises(CheckpointError, match="no state dict under key 'ema'"):
        average_checkpoints([tmp_path / "a.pt"], key="ema")
    with pytest.raises(CheckpointError, match="no checkpoints"):
        average_checkpoints([])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_rng_and_tensors_round_trip(tmp_path):
    torch.cuda.manual_seed_all(123)
    weights = torch.randn(5, device="cuda")
    state = {"rng": rng_state(), "model": {"w": weights}}
    assert len(state["rng"]["cuda"]) == torch.cuda.device_count() >= 1
    save_checkpoint(tmp_path / "c.pt", state)
    expected = torch.rand(4, device="cuda").tolist()
    torch.rand(10, device="cuda")
    ckpt = load_checkpoint(tmp_path / "c.pt")  # map_location="cpu"
    assert ckpt["model"]["w"].device.type == "cpu" and torch.equal(ckpt["model"]["w"], state["model"]["w"].cpu())
    restore_rng_state(ckpt["rng"])
    assert torch.rand(4, device="cuda").tolist() == expected
    assert load_checkpoint(tmp_path / "c.pt", map_location="cuda")["model"]["w"].is_cuda
