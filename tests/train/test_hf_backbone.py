"""Training, resuming, exporting and decoding with a transformers backbone as the shared encoder
(``model.encoder.kind=hf``), on the built-in tiny corpus with tiny random backbones saved by ``save_pretrained``."""

import json

import pytest
import torch

pytest.importorskip("transformers")

from soups.errors import ConfigError  # noqa: E402
from soups.train.checkpoint import load_checkpoint  # noqa: E402
from soups.train.config import load_config  # noqa: E402
from soups.train.loop import run_training  # noqa: E402
from tests.model.test_hf_encoder import save_tiny  # noqa: E402

OBJECTIVES = [{"name": "asr_en", "task": "asr", "lang": "en"},
              {"name": "asr_fr", "task": "asr", "lang": "fr", "inter_ctc_weight": 0.3},
              {"name": "st_fr_en", "task": "st", "lang": "fr", "head": "ctc"},
              {"name": "st_de_en", "task": "st", "lang": "de", "head": "decoder"}]
VM_UAS = "moo.hierarchy={formulation: vm, levels: uas, weighting: modo}"


@pytest.fixture(scope="module")
def w2v(tmp_path_factory):
    return save_tiny("wav2vec2", tmp_path_factory.mktemp("w2v") / "m", feat_extract_norm="layer",
                     do_stable_layer_norm=True, conv_stride=(5, 4, 4, 4), conv_kernel=(10, 4, 4, 4),
                     conv_dim=(16, 16, 16, 16))


def make_cfg(corpus, backbone, *overrides, objectives=OBJECTIVES):
    data = {"data": {"dir": str(corpus), "batch_cuts": 4, "dev_utterances": 4},
            "tokenizers": {"asr": {"kind": "char", "vocab_size": 64}, "st": {"kind": "spm", "vocab_size": 64}},
            "model": {"decoder": {"num_layers": 1, "num_heads": 2, "ff_dim": 64}},
            "objectives": objectives,
            "train": {"max_steps": 12, "warmup_steps": 2, "log_every": 1, "lr_backbone": 2e-3, "lr_heads": 5e-3}}
    return load_config(None, ["model.encoder.kind=hf", f"model.encoder.hf.path={backbone}",
                              "model.encoder.hf.intermediate_layers=[0]", *overrides], data=data)


def losses(exp):
    rows = [json.loads(x) for x in (exp / "log.jsonl").read_text().splitlines() if '"loss/' in x]
    return {o["name"]: [r[f"loss/{o['name']}"] for r in rows] for o in OBJECTIVES}


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["fast", "faithful", "layers"])
def test_a_short_run_lowers_every_objective_loss(tiny_corpus, tmp_path, w2v, mode):
    extra = ["moo.layers.fixed=[frontend, block.0]"] if mode == "layers" else []
    cfg = make_cfg(tiny_corpus, w2v, f"moo.mode={mode}", VM_UAS, *extra)
    run_training(cfg, tmp_path / "exp", progress=False)
    for name, values in losses(tmp_path / "exp").items():
        first, last = sum(values[:3]) / 3, sum(values[-3:]) / 3
        assert last < 0.9 * first, f"{mode} {name}: {first:.3f} -> {last:.3f}"


@pytest.mark.slow
def test_resume_is_exact_with_the_backbones_own_masking_and_dropout(tiny_corpus, tmp_path, w2v):
    """The backbone's SpecAugment draws from numpy's RNG and its dropout from torch's: both are checkpointed."""
    cfg = make_cfg(tiny_corpus, w2v, "moo.mode=faithful", VM_UAS, "train.max_steps=4", "train.checkpoint_every=2",
                   "model.encoder.hf.mask_time_prob=0.2", "model.encoder.hf.freeze_feature_encoder=false")
    run_training(cfg, tmp_path / "full", progress=False)
    run_training(cfg, tmp_path / "split", progress=False, stop_after=2)
    run_training(cfg, tmp_path / "split", resume=True, progress=False)
    full, split = (load_checkpoint(sorted((tmp_path / d / "checkpoints").glob("ckpt-*.pt"))[-1])["model"]
                   for d in ("full", "split"))
    assert any(k.startswith("encoder.backbone.feature_extractor") for k in full)
    for key in full:
        assert torch.equal(full[key], split[key]), key


@pytest.mark.slow
def test_export_reloads_to_the_same_hypotheses_and_transcribes(tiny_corpus, tmp_path, w2v):
    from soups.eval.experiment import evaluate_experiment
    from soups.eval.export import export_experiment
    from soups.eval.transcribe import transcribe

    cfg = make_cfg(tiny_corpus, w2v, "train.max_steps=3")
    run_training(cfg, tmp_path / "exp", progress=False)
    export_experiment(tmp_path / "exp", tmp_path / "export")
    assert (tmp_path / "export" / "backbone" / "config.json").is_file()
    from transformers import AutoModel

    AutoModel.from_pretrained(tmp_path / "export" / "backbone")  # loadable outside soups
    moved = tmp_path / "moved"
    (tmp_path / "export").rename(moved)  # the export is self-contained
    a = evaluate_experiment(tmp_path / "exp", "dev", max_utterances=3, lm=False, ctc_beam=1, decoder_beam=1)
    b = evaluate_experiment(moved, "dev", max_utterances=3, lm=False, ctc_beam=1, decoder_beam=1)
    for name in ("asr_en", "st_fr_en", "st_de_en"):
        hyp = lambda r: (r["out_dir"] + f"/{name}.hyp.txt")  # noqa: E731
        assert open(hyp(a)).read() == open(hyp(b)).read(), name
    assert b["training"] == {"steps": 3, "max_steps": 3, "cut": False}
    from soups.data.manifests import load_cuts

    cut = next(iter(load_cuts(tiny_corpus / "cuts_fr_dev.jsonl.gz")))
    text = transcribe(moved, "fr", "st", [cut.recording.sources[0].source])
    assert len(text) == 1 and isinstance(text[0], str)
    from soups.errors import SoupsError

    with pytest.raises(SoupsError, match="not empty"):
        export_experiment(tmp_path / "exp", moved)


@pytest.mark.slow
def test_whisper_encoder_trains_and_counts_utterances_longer_than_its_window(tiny_corpus, tmp_path):
    """A Whisper window of 2 s: longer utterances are skipped, counted and reported, never silently cut."""
    path = save_tiny("whisper", tmp_path / "whisper", max_source_positions=100)
    cfg = make_cfg(tiny_corpus, path, "moo.mode=fast", VM_UAS, "train.max_steps=3", objectives=OBJECTIVES[:3])
    result = run_training(cfg, tmp_path / "exp", progress=False)
    assert result["skips"]["by_reason"].get("too_long_for_backbone", 0) > 0
    from soups.eval.experiment import evaluate_experiment

    scored = evaluate_experiment(tmp_path / "exp", "test", max_utterances=20, lm=False, ctc_beam=1)
    assert sum(scored["skipped"]["too_long_for_backbone"].values()) > 0  # left out of the scores, counted
    import soundfile as sf

    from soups.errors import DataError
    from soups.eval.transcribe import transcribe

    sf.write(tmp_path / "long.wav", torch.zeros(3 * 16000).numpy(), 16000)
    with pytest.raises(DataError, match="long.wav.*longer than the backbone's 2-s input window"):
        transcribe(tmp_path / "exp", "en", "asr", [str(tmp_path / "long.wav")])


def test_config_contract_and_refusals(tiny_corpus, w2v):
    cfg = make_cfg(tiny_corpus, w2v)
    assert cfg.model.encoder == {"kind": "hf", "hf": {"path": w2v, "intermediate_layers": [0]}}
    with pytest.raises(ConfigError, match="model.encoder.kind"):
        make_cfg(tiny_corpus, w2v, "model.encoder.kind=bert")
    with pytest.raises(ConfigError, match="model.encoder.d_model.*Conformer option"):
        make_cfg(tiny_corpus, w2v, "model.encoder.d_model=64")
    with pytest.raises(ConfigError, match="objectives.*self-supervised"):
        make_cfg(tiny_corpus, w2v, objectives=[*OBJECTIVES, {"name": "ssl", "task": "ssl", "head": "bestrq"}])
    with pytest.raises(ConfigError, match="model.encoder.hf.*unknown option"):
        make_cfg(tiny_corpus, w2v, "model.encoder.hf.nope=1")
    with pytest.raises(ConfigError, match="model.encoder.hf.layerdrop"):
        make_cfg(tiny_corpus, w2v, "model.encoder.hf.layerdrop=2")


@pytest.mark.slow
def test_two_torchrun_processes_match_one_process(tiny_corpus, tmp_path, w2v):
    """Real torchrun (2 gloo ranks, data parallel, faithful VM-UAS, float64) against one process."""
    import yaml

    from tests.train.test_distributed import final_state, train

    path = tmp_path / "hf.yaml"
    path.write_text(yaml.safe_dump({"data": {"dir": str(tiny_corpus)}, "objectives": OBJECTIVES[:3]}))
    overrides = ["model.encoder={kind: hf, hf: {path: " + w2v + "}}", "tokenizers.asr={kind: char, vocab_size: 64}",
                 "tokenizers.st={kind: spm, vocab_size: 64}", "eval.lm.order=0", "data.batch_cuts=4",
                 "data.dev_utterances=2", "train.warmup_steps=1", "train.max_steps=2", "train.threads=1",
                 "train.precision=float64", "moo.mode=faithful", VM_UAS]
    train(path, tmp_path / "one", 1, *overrides)
    train(path, tmp_path / "two", 2, *overrides)
    one, two = final_state(tmp_path / "one")["model"], final_state(tmp_path / "two")["model"]
    assert max(float((one[k].double() - two[k].double()).abs().max()) for k in one) < 1e-5
