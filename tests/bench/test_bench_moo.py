"""``soups bench moo --quick --growth --json``: the JSON contract, every mode ran, ratios are sane, and
faithful MoDo (2M extra per-objective VJPs by construction) is slower than linear. No other timing claim."""

import contextlib
import io
import json
import math

import pytest
import torch

from soups.bench import moo_setup as ms
from soups.bench.moo import BENCH_MODES, GROWTH_MODES
from soups.cli import main


# every engine code path once: layers_first/last/all differ only in the fixed list, linear_per_stream and
# modo_per_stream only in the encoder call, modo_batched in the engine's vmapped products (all built and stepped
# by the unit tests below, tests/train/test_encoder_forward.py and tests/moo/test_moo_engine_batched.py);
# layers_amortized's period timing and streamed probe run here
QUICK_MODES = [m for m in BENCH_MODES if m not in ("layers_first", "layers_last", "layers_all", "linear_per_stream",
                                                   "modo_per_stream", "modo_batched")]


@pytest.fixture(scope="module")
def result():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["bench", "moo", "--quick", "--growth", "--json", "--modes", ",".join(QUICK_MODES)]) == 0
    return json.loads(out.getvalue())


@pytest.mark.slow
def test_contract_keys_and_every_mode_ran(result):
    assert {"modes", "model", "objectives", "growth", "device", "threads"} <= set(result)
    assert set(result["modes"]) == set(QUICK_MODES) and result["objectives"] == 10
    for mode, r in result["modes"].items():
        assert {"step_s", "peak_mb", "ratio_time", "ratio_mem"} <= set(r), mode
        periods = ms.AMORTIZE_K if mode == "layers_amortized" else 2   # whole λ periods
        assert len(r["times_s"]) == periods and r["step_s"] > 0 and r["peak_mb"] > 0
    m = result["model"]
    assert m["name"] == "tiny" and m["objectives"] == 10 and m["streams"] == 6    # 5 languages + SSL
    assert result["threads"] >= 1 and isinstance(result["device"], str)


@pytest.mark.slow
def test_ratios_are_positive_finite_and_linear_is_one(result):
    for mode, r in result["modes"].items():
        for key in ("ratio_time", "ratio_mem"):
            assert math.isfinite(r[key]) and r[key] > 0, (mode, key)
    assert result["modes"]["linear"]["ratio_time"] == 1.0 and result["modes"]["linear"]["ratio_mem"] == 1.0


@pytest.mark.slow
def test_faithful_modo_is_slower_than_linear(result):
    modes = result["modes"]
    assert modes["modo"]["step_s"] > modes["linear"]["step_s"]
    assert modes["modo"]["ratio_time_paired"] > 1           # also against linear steps alternated in-process


@pytest.mark.slow
def test_layer_selection_and_growth_are_reported(result):
    layers = result["modes"]["modo_layers"]
    assert layers["num_layers"] == 5 and 0 <= len(layers["selected_layers"]) <= 5      # frontend + 4 blocks
    assert set(layers["selected_layers"]) <= {"frontend", *(f"block.{i}" for i in range(4))}
    assert layers["probe_step_s"] > 0 and layers["ratio_time_amortized"] > 0
    g = result["growth"]
    assert g["M"] == [3, 8]
    for mode in GROWTH_MODES:
        assert len(g[mode]) == 2 and all(t is not None and t > 0 for t in g[mode]), mode
    for key in ("ratio_fast", "ratio_modo"):
        assert len(g[key]) == 2 and all(math.isfinite(r) and r > 0 for r in g[key]), key


def test_every_mode_sees_the_same_model_and_batches():
    """Fixed seeds: two builds (as two worker processes do) give identical weights and batches."""
    cfgs = [ms.make_config("tiny", mode, ms.SUITE, batch_cuts=2) for mode in ("linear", "modo")]
    a, b = (ms.build_setup(cfg, 1.0, "cpu", mode) for cfg, mode in zip(cfgs, ("linear", "modo")))
    for (na, pa), (nb, pb) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert na == nb and torch.equal(pa, pb)
    assert list(a.batches) == ["en", "fr", "de", "es", "ca", "ssl"]
    for name in a.batches:
        assert torch.equal(a.batches[name].feats, b.batches[name].feats)
        assert a.batches[name].asr_tokens == b.batches[name].asr_tokens
    assert torch.equal(a.batches["ssl"].ssl.targets, b.batches["ssl"].ssl.targets)
    # CTC targets fit the encoder frames (<= 1 token per 3 frames after the x4 subsampling)
    en = a.batches["en"]
    assert all(len(t) * 3 <= int(n) // 4 for t, n in zip(en.asr_tokens, en.feat_lens))


def test_sketch_mode_is_faithful_modo_with_a_sketched_gram():
    cfg = ms.make_config("tiny", "modo_sketch", ms.SUITE, batch_cuts=2)
    s = ms.build_setup(cfg, 1.0, "cpu", "modo_sketch")
    assert s.moo.engine.mode == "faithful" and s.moo.engine.sketch is not None and s.moo.engine.sketch.k == ms.SKETCH_K
    exact = ms.build_setup(ms.make_config("tiny", "modo", ms.SUITE, batch_cuts=2), 1.0, "cpu", "modo")
    assert exact.moo.engine.mode == "faithful" and exact.moo.engine.sketch is None


@pytest.mark.slow
def test_forced_layer_modes_select_without_probing(result):
    """layers_amortized's timed steps keep the fixed selection (whole λ periods, no probe); its streamed probe
    step is measured on its own and folded into the amortized ratio."""
    r = result["modes"]["layers_amortized"]
    assert len(r["paired_ratios"]) == ms.AMORTIZE_K and r["selected_layers"] == ["frontend", "block.0"]
    assert r["probe_step_s"] > 0 and r["probe_peak_mb"] > 0 and r["steady_peak_mb"] > 0
    assert r["ratio_time_amortized"] == pytest.approx((r["ratio_time_probe"] + 49 * r["ratio_time"]) / 50)
    assert "probe_step_s" not in result["modes"]["modo"]


@pytest.mark.parametrize("mode,fixed,apply,every", [
    ("layers_first", ["frontend", "block.0"], "layers", 1), ("layers_last", ["block.3"], "layers", 1),
    ("layers_all", ["frontend", "block.0", "block.1", "block.2", "block.3"], "layers", 1),
    ("layers_amortized", ["frontend", "block.0"], "encoder", ms.AMORTIZE_K),
    ("linear_per_stream", None, None, 1)])
def test_forced_layer_modes_build_the_engine_they_name(mode, fixed, apply, every):
    s = ms.build_setup(ms.make_config("tiny", mode, ms.SUITE[:2], batch_cuts=2), 1.0, "cpu", mode)
    if fixed is None:   # linear, one encoder call per stream
        assert s.moo.engine.mode == "linear" and not s.cfg.joint_encoder_forward()
        assert ms.train_step(s, 0).weights.shape == (2,)
        return
    assert s.moo.engine.mode == "layers" and s.moo.engine.layers_apply == apply and s.moo.engine.update_every == every
    assert s.moo.engine.selector.fixed == set(fixed) and s.moo.engine.selector.selected == set(fixed)
    info = ms.train_step(s, 0)
    assert info.selected == fixed and info.layer_scores is None
    mid = ms.make_config("mid", "layers_last", ms.SUITE[:2])
    assert mid.moo.layers.fixed == ["block.5"]


def test_modo_runs_one_encoder_call_per_half_and_modo_per_stream_one_per_stream():
    from soups.bench.moo import _encoder_forward

    for mode, forward in (("modo", "per_half"), ("modo_per_stream", "per_stream"), ("linear", "joint")):
        cfg = ms.make_config("tiny", mode, ms.SUITE[:2], batch_cuts=2)
        assert _encoder_forward(cfg) == forward
    s = ms.build_setup(ms.make_config("tiny", "modo_per_stream", ms.SUITE[:2], batch_cuts=2), 1.0, "cpu",
                       "modo_per_stream")
    assert s.moo.engine.mode == "faithful" and ms.train_step(s, 0).weights.shape == (2,)


def test_modo_batched_takes_the_products_vmapped_and_gives_modo_s_update():
    updates = {}
    for mode in ("modo", "modo_batched"):
        s = ms.build_setup(ms.make_config("tiny", mode, ms.SUITE[:2], batch_cuts=2), 1.0, "cpu", mode, seed=4)
        assert s.moo.engine.batched_vjp == (mode == "modo_batched")
        updates[mode] = (ms.train_step(s, 0).weights, [p.detach().clone() for p in s.model.encoder.parameters()])
    assert torch.allclose(updates["modo"][0], updates["modo_batched"][0], atol=1e-5)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(updates["modo"][1], updates["modo_batched"][1]))


def test_a_fixed_selection_must_name_the_models_layer_groups(capsys):
    from soups.errors import ConfigError
    from soups.train.config import load_config

    cfg = ms.make_config("tiny", "layers_first", ms.SUITE[:2], batch_cuts=2)
    data = {"data": {"batch_cuts": 2, "specaugment": {"enabled": False}}, "objectives": ms.SUITE[:2],
            "model": {"preset": "tiny"}, "moo": {"mode": "layers", "layers": {"fixed": ["block.9"]}}}
    with pytest.raises(ConfigError) as err:
        ms.build_setup(load_config(None, [], data=data), 1.0, "cpu", "modo_layers")
    assert err.value.key == "moo.layers.fixed" and "block.3" in str(err.value)
    assert cfg.moo.layers.apply == "layers"
    assert main(["bench", "moo", "--modes", "linear,nope"]) == 2
    assert "--modes" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["3,x", "0", ","])
def test_growth_m_must_be_positive_integers(bad, capsys):
    with pytest.raises(SystemExit) as err:
        main(["bench", "moo", "--growth-m", bad])
    assert err.value.code == 2 and "--growth-m: expected positive integers" in capsys.readouterr().err


@pytest.mark.slow
def test_a_transformers_backbone_is_benchmarked_with_the_same_json(tmp_path):
    """``soups bench moo --model hf --hf-path DIR``: the nine supervised objectives (no SSL on a backbone), the
    contract keys, the backbone's layers as groups."""
    pytest.importorskip("transformers")
    from tests.model.test_hf_encoder import save_tiny

    path = save_tiny("wav2vec2", tmp_path / "w2v", feat_extract_norm="layer")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["bench", "moo", "--model", "hf", "--hf-path", path, "--modes", "fast", "--quick",
                     "--json"]) == 0
    result = json.loads(out.getvalue())
    assert set(result["modes"]) == {"linear", "fast"} and result["objectives"] == 9
    for r in result["modes"].values():
        assert r["step_s"] > 0 and r["peak_mb"] > 0 and math.isfinite(r["ratio_time"])
    m = result["model"]
    assert m["encoder"] == "HFEncoder" and m["num_blocks"] == 2 and m["streams"] == 5 and m["hf_path"] == path
