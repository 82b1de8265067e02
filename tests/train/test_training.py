"""End-to-end training on the built-in tiny corpus: losses go down, resume is exact, bad situations are
handled (changed config, non-finite losses)."""

import json

import pytest
import torch

from soups.errors import ConfigError
from soups.train.checkpoint import load_checkpoint
from soups.train.config import load_config
from soups.train.loop import run_training

SMALL_MODEL = {"preset": "tiny", "encoder": {"d_model": 64, "num_blocks": 2, "num_heads": 2,
                                             "subsampling_channels": 16, "dropout": 0.1},
               "decoder": {"num_layers": 1, "num_heads": 2, "ff_dim": 128}}
OBJECTIVES = [
    {"name": "asr_en", "task": "asr", "lang": "en"},
    {"name": "asr_fr", "task": "asr", "lang": "fr"},
    {"name": "st_fr_en", "task": "st", "lang": "fr", "head": "decoder"},
    {"name": "asr_de", "task": "asr", "lang": "de"},
    {"name": "st_de_en", "task": "st", "lang": "de", "head": "ctc"},
    {"name": "ssl", "task": "ssl", "head": "bestrq"},
]


def make_cfg(corpus, *overrides, objectives=OBJECTIVES):
    data = {"data": {"dir": str(corpus), "batch_cuts": 6, "dev_utterances": 4},
            "tokenizers": {"asr": {"kind": "spm", "vocab_size": 64}, "st": {"kind": "spm", "vocab_size": 64}},
            "model": SMALL_MODEL, "objectives": objectives,
            "model_ssl": None}
    data.pop("model_ssl")
    data["model"] = dict(SMALL_MODEL, ssl={"num_codes": 256})
    data["train"] = {"max_steps": 6, "warmup_steps": 2, "log_every": 1, "lr_backbone": 3e-3, "lr_heads": 3e-3}
    return load_config(None, list(overrides), data=data)


def read_log(exp):
    return [json.loads(line) for line in (exp / "log.jsonl").read_text().splitlines() if '"loss/' in line]


@pytest.mark.slow
def test_a_short_run_lowers_every_objective_loss(tiny_corpus, tmp_path):
    cfg = make_cfg(tiny_corpus, "train.max_steps=40", "train.warmup_steps=5", "data.specaugment.enabled=false")
    run_training(cfg, tmp_path / "exp", progress=False)
    log = read_log(tmp_path / "exp")
    for obj in OBJECTIVES:
        key = f"loss/{obj['name']}"
        first = sum(r[key] for r in log[:5]) / 5
        last = sum(r[key] for r in log[-5:]) / 5
        assert last < 0.9 * first, f"{obj['name']}: {first:.3f} -> {last:.3f}"


def model_state(exp):
    ckpt = load_checkpoint(sorted((exp / "checkpoints").glob("ckpt-*.pt"))[-1])
    return ckpt["model"], ckpt["engine"]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["linear", "faithful", "fast"])
def test_interrupted_and_resumed_equals_uninterrupted_bitwise(tiny_corpus, tmp_path, mode):
    overrides = ["train.max_steps=6", "train.checkpoint_every=3", f"moo.mode={mode}"]
    if mode != "linear":
        overrides.append("moo.hierarchy={formulation: vm, levels: uas, weighting: modo}")
    cfg = make_cfg(tiny_corpus, *overrides)
    run_training(cfg, tmp_path / "full", progress=False)
    run_training(cfg, tmp_path / "split", progress=False, stop_after=3)
    assert sorted(p.name for p in (tmp_path / "split" / "checkpoints").glob("ckpt-*.pt")) == ["ckpt-00000003.pt"]
    run_training(cfg, tmp_path / "split", resume=True, progress=False)
    (full, full_engine), (split, split_engine) = model_state(tmp_path / "full"), model_state(tmp_path / "split")
    assert full.keys() == split.keys()
    for key in full:
        assert torch.equal(full[key], split[key]), key
    if mode != "linear":
        for a, b in zip(full_engine["hierarchy"]["weightings"], split_engine["hierarchy"]["weightings"]):
            assert json.dumps(a, default=lambda t: t.tolist()) == json.dumps(b, default=lambda t: t.tolist())


@pytest.mark.slow
def test_prefetching_and_caching_change_nothing_and_may_change_on_resume(tiny_corpus, tmp_path):
    """Batches read ahead (soups.data.prefetch) train the same model as batches read in the step, and a run
    checkpointed while a batch was read ahead resumes exactly (with another depth); so do features and cuts
    kept in memory (data.feature_cache_mb, data.in_memory_cuts) against decoded and read at every draw."""
    overrides = ["train.max_steps=6", "train.checkpoint_every=3", "moo.mode=fast",
                 "moo.hierarchy={formulation: vm, levels: uas, weighting: modo}"]
    run_training(make_cfg(tiny_corpus, *overrides, "data.prefetch=0", "data.feature_cache_mb=0",
                          "data.in_memory_cuts=0"), tmp_path / "inline", progress=False)
    run_training(make_cfg(tiny_corpus, *overrides, "data.prefetch=2"), tmp_path / "ahead", progress=False,
                 stop_after=3)
    run_training(make_cfg(tiny_corpus, *overrides, "data.prefetch=1", "data.feature_cache_mb=1"), tmp_path / "ahead",
                 resume=True, progress=False)
    (inline, _), (ahead, _) = model_state(tmp_path / "inline"), model_state(tmp_path / "ahead")
    assert inline.keys() == ahead.keys()
    for key in inline:
        assert torch.equal(inline[key], ahead[key]), key
    assert [r["loss/asr_en"] for r in read_log(tmp_path / "inline")] == \
        [r["loss/asr_en"] for r in read_log(tmp_path / "ahead")]


def test_resume_with_a_changed_config_is_refused_with_the_differences(tiny_corpus, tmp_path):
    cfg = make_cfg(tiny_corpus, "train.max_steps=2")
    run_training(cfg, tmp_path / "exp", progress=False)
    changed = make_cfg(tiny_corpus, "train.max_steps=2", "train.lr_backbone=0.01")
    with pytest.raises(ConfigError, match=r"train.lr_backbone: 0.003 -> 0.01"):
        run_training(changed, tmp_path / "exp", resume=True, progress=False)
    with pytest.raises(ConfigError, match="already holds a trained experiment"):
        run_training(cfg, tmp_path / "exp", progress=False)
    with pytest.raises(ConfigError, match="no experiment to resume"):
        run_training(cfg, tmp_path / "other", resume=True, progress=False)


def test_non_finite_losses_are_skipped_counted_and_training_goes_on(tiny_corpus, tmp_path, monkeypatch):
    from soups.model.heads import CTCHead

    original, calls = CTCHead.loss, {"n": 0}

    def flaky(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] % 3 == 0:  # every third CTC loss call: NaN for every utterance
            return out._replace(losses=out.losses * float("nan"), finite=torch.zeros_like(out.finite))
        return out

    monkeypatch.setattr(CTCHead, "loss", flaky)
    cfg = make_cfg(tiny_corpus, "train.max_steps=4")
    summary = run_training(cfg, tmp_path / "exp", progress=False)
    assert summary["step"] == 4
    assert sum(summary["skipped_items"].values()) > 0
    state, _ = model_state(tmp_path / "exp")
    assert all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point())
    assert summary["skipped_objective_steps"], "an objective whose whole batch was unusable is counted"


@pytest.mark.slow
def test_the_demo_config_trains_with_vm_msp_uas_end_to_end(tiny_corpus, tmp_path):
    from pathlib import Path

    from soups.eval.experiment import evaluate_experiment

    demo = Path(__file__).parents[2] / "configs" / "demo.yaml"
    cfg = load_config(demo, [f"data.dir={tiny_corpus}", "train.max_steps=3", "data.dev_utterances=2", "train.log_every=1",
                             "model.encoder={d_model: 64, num_blocks: 2, num_heads: 2, subsampling_channels: 16}",
                             "tokenizers.st={kind: spm, vocab_size: 100}"])
    assert cfg.eval.lm.word_order > 0 and cfg.tokenizers.asr.kind == "char"  # the demo's LM decoding runs too
    assert cfg.moo.hierarchy["formulation"] == "vm" and cfg.moo.hierarchy["levels"] == "uas"
    assert len(cfg.objectives) == 10
    summary = run_training(cfg, tmp_path / "exp", progress=False)
    assert summary["step"] == 3 and summary["skipped_steps"] == 0
    log = read_log(tmp_path / "exp")
    assert all(any(k.startswith("lambda/") for k in r) for r in log)        # MoDo weights at every step
    assert log[-1]["eta/1"] > log[0]["eta/1"]                               # penalties grow per step
    results = evaluate_experiment(tmp_path / "exp", "test", max_utterances=3)
    assert {r["metric"] for r in results["objectives"].values()} == {"wer", "bleu"}
    assert len(results["objectives"]) == 9 and set(results["average"]) == {"wer", "bleu"}
    assert results["training"] == {"steps": 3, "max_steps": 3, "cut": False}
    # LM fusion: character ASR tokenizers get the word n-gram too, the English pieces of the CTC translation
    # heads the token n-gram only
    from soups.data.tokenizer import load_tokenizers
    from soups.eval.fusions import build_lm_fusions

    fusions = build_lm_fusions(cfg, tmp_path / "exp", load_tokenizers(tmp_path / "exp" / "tokenizers.json"))
    assert {k for k, f in fusions.items() if f.words is not None} == {f"asr_{x}" for x in ("en", "fr", "de", "es", "ca")}
    assert fusions["st"].words is None and fusions["st"].lm.order == cfg.eval.lm.order


def test_x2_frontend_trains_evaluates_and_fits_more_ctc_targets(tiny_corpus, tmp_path):
    """``model.encoder.subsampling_factor=2``: BEST-RQ follows it (2 stacked frames per target), a short run
    with every objective kind trains and evaluates, and the CTC filter counts frames at the ×2 rate (an
    utterance of 40 input frames fits 16 labels at ×2 (17 frames), not at ×4 (8 frames)); a BEST-RQ stack
    that does not match the encoder is refused, naming the key."""
    from types import SimpleNamespace

    from soups.eval.experiment import evaluate_experiment
    from soups.train.build import ctc_filter

    cfg = make_cfg(tiny_corpus, "model.encoder.subsampling_factor=2", "train.max_steps=3", "data.dev_utterances=2")
    summary = run_training(cfg, tmp_path / "exp", progress=False)
    assert summary["step"] == 3 and summary["skipped_steps"] == 0
    assert all(torch.isfinite(torch.tensor(v)) for r in read_log(tmp_path / "exp") for k, v in r.items()
               if k.startswith("loss/"))
    results = evaluate_experiment(tmp_path / "exp", "test", max_utterances=2)
    assert len(results["objectives"]) == 5

    tok = SimpleNamespace(encode=lambda text: list(range(len(text))))
    cut = SimpleNamespace(supervisions=[SimpleNamespace(text="a" * 16, language="en", custom={})],
                          num_frames=40, has_features=True)
    objectives = [{"name": "asr_en", "task": "asr", "lang": "en"}]
    x2 = make_cfg(tiny_corpus, "model.encoder.subsampling_factor=2", objectives=objectives)
    x4 = make_cfg(tiny_corpus, objectives=objectives)
    assert ctc_filter(x2, "en", {"asr_en": tok})(cut) is None
    assert ctc_filter(x4, "en", {"asr_en": tok})(cut) == "too_short_for_ctc"
    with pytest.raises(ConfigError, match="model.ssl.stack_frames"):
        run_training(make_cfg(tiny_corpus, "model.encoder.subsampling_factor=2", "model.ssl.stack_frames=4"),
                     tmp_path / "bad", progress=False)


@pytest.mark.parametrize("mode", ["linear", "fast", "faithful"])
def test_a_diverging_run_skips_non_finite_steps_then_stops_cleanly(tiny_corpus, tmp_path, mode, capsys):
    """lr 1e6 makes every loss non-finite within a few steps: MoDo never sees a non-finite Gram (no
    traceback), each such step is skipped and counted, and after train.max_consecutive_skips in a row the
    CLI stops with one line and exit code 2, the last checkpoint intact."""
    from soups.cli import main
    from soups.train.config import config_to_yaml

    overrides = [f"moo.mode={mode}", "moo.hierarchy={formulation: vm, levels: uas, weighting: modo}",
                 "train.lr_backbone=1e6", "train.lr_heads=1e6", "train.warmup_steps=0", "train.schedule=constant",
                 "train.max_steps=12", "train.max_consecutive_skips=3", "train.checkpoint_every=1",
                 "train.grad_clip=1e30"]
    cfg = make_cfg(tiny_corpus, *overrides)
    path = tmp_path / "cfg.yaml"
    path.write_text(config_to_yaml(cfg))
    assert main(["train", str(path), "--out", str(tmp_path / "exp")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("soups: error: training stopped at step") and "3 consecutive steps" in err[-1]
    assert "Traceback" not in "\n".join(err)
    records = [json.loads(line) for line in (tmp_path / "exp" / "log.jsonl").read_text().splitlines()]
    causes = [r["skipped_nonfinite"] for r in records if r.get("skipped_nonfinite")]
    assert causes and all(k.split(": ")[1] in ("loss", "gradient", "Gram", "gradient norm") for k in causes[-1])
    ckpts = sorted((tmp_path / "exp" / "checkpoints").glob("ckpt-*.pt"))
    assert ckpts and load_checkpoint(ckpts[-1])["step"] >= 1          # saved before the skips, loadable


def test_dev_evaluation_is_what_the_caller_passes(tiny_corpus, tmp_path):
    """With ``dev_eval`` (what ``soups train`` passes) the dev split is decoded every eval_every steps and at
    the end, and its score picks best.pt; without it there is neither (training does not import evaluation)."""
    from soups.eval.dev import evaluate_dev

    cfg = make_cfg(tiny_corpus, "train.max_steps=4", "train.eval_every=2", "train.checkpoint_every=2",
                   "data.dev_utterances=2", objectives=OBJECTIVES[:2])
    summary = run_training(cfg, tmp_path / "with", progress=False, dev_eval=evaluate_dev)
    lines = [json.loads(line) for line in (tmp_path / "with" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "dev/average_wer" in r] == [2, 4]
    avg = summary["dev"]["average"]
    assert summary["dev"]["score"] == pytest.approx(avg.get("wer", 0.0) - avg.get("bleu", 0.0))
    assert (tmp_path / "with" / "checkpoints" / "best.pt").is_file()
    summary = run_training(cfg, tmp_path / "without", progress=False)
    assert summary["dev"] is None and not (tmp_path / "without" / "checkpoints" / "best.pt").exists()
    assert not any("dev/" in line for line in (tmp_path / "without" / "log.jsonl").read_text().splitlines())


def test_logged_step_and_data_seconds_are_means_over_every_step_since_the_last_log():
    from soups.train.loop import Timing

    timing = Timing()
    for step_s, data_s in [(0.2, 0.01), (3.0, 2.8), (0.1, 0.03)]:   # the stall on an unlogged step counts
        timing.add(step_s, data_s)
    assert timing.means() == pytest.approx({"step_s": 1.1, "data_s": 2.84 / 3})
    timing.add(0.5, 0.1)                                          # the next interval starts afresh
    assert timing.means() == pytest.approx({"step_s": 0.5, "data_s": 0.1})
