"""train.init_from and train.freeze: starting from another run's weights, freezing parts of the model."""

import pytest
import torch

from soups.errors import CheckpointError, ConfigError
from soups.train.init import freeze, init_from_checkpoint, select


def test_init_from_checkpoint_refuses_another_encoder_and_freeze_checks_names(tmp_path):
    from soups.model import ConformerEncoder, EncoderConfig
    from soups.multitask import MultiTaskModel
    from soups.objectives import build_objective
    from soups.train.checkpoint import save_checkpoint
    from soups.objectives import ObjectiveConfig

    def model(d):
        enc = ConformerEncoder(EncoderConfig(d_model=d, num_blocks=1, num_heads=2, subsampling_channels=8))
        obj = ObjectiveConfig("asr_fr", "asr", lang="fr")
        obj.validate("o")
        return MultiTaskModel(enc, [build_objective(obj, d, 10)])

    a, b = model(32), model(16)
    save_checkpoint(tmp_path / "a.pt", {"model": a.state_dict(), "step": 3})
    with pytest.raises(CheckpointError, match="cannot initialise"):
        init_from_checkpoint(b, tmp_path / "a.pt")
    c = model(32)
    report = init_from_checkpoint(c, tmp_path / "a.pt")
    assert report["loaded"] == len(a.state_dict()) and report["new"] == [] and report["step"] == 3
    assert all(torch.equal(v, c.state_dict()[k]) for k, v in a.state_dict().items())
    frozen = freeze(c, ["layer:block.0", "task:asr"])
    assert frozen and all(not p.requires_grad for n, p in c.named_parameters() if n in frozen)
    assert all(p.requires_grad for p in c.encoder.frontend.parameters())
    with pytest.raises(ConfigError, match="unknown layer group 'block.9'"):
        freeze(c, ["layer:block.9"])
    # an experiment directory stands for its latest checkpoint (by step, not by file time)
    (tmp_path / "exp" / "checkpoints").mkdir(parents=True)
    save_checkpoint(tmp_path / "exp" / "checkpoints" / "ckpt-00000010.pt", {"model": a.state_dict(), "step": 10})
    save_checkpoint(tmp_path / "exp" / "checkpoints" / "ckpt-00000009.pt", {"model": c.state_dict(), "step": 9})
    assert init_from_checkpoint(model(32), tmp_path / "exp")["step"] == 10
    with pytest.raises(CheckpointError, match="without checkpoints/ckpt"):
        init_from_checkpoint(model(32), tmp_path)


def test_selectors_match_names_globs_tasks_and_languages():
    objs = [{"name": "asr_fr", "task": "asr", "lang": "fr"}, {"name": "st_fr_en", "task": "st", "lang": "fr"},
            {"name": "ssl", "task": "ssl", "lang": None}]
    assert [o["name"] for o in select(objs, ["task:st", "ssl"], "k")] == ["st_fr_en", "ssl"]
    assert [o["name"] for o in select(objs, ["lang:fr"], "k")] == ["asr_fr", "st_fr_en"]
    assert [o["name"] for o in select(objs, ["asr_*"], "k")] == ["asr_fr"]
    assert [o["name"] for o in select(objs, ["supervised"], "k")] == ["asr_fr", "st_fr_en"]
    with pytest.raises(ConfigError, match="matches no objective"):
        select(objs, ["task:gender"], "k")


def test_a_run_started_from_an_experiment_keeps_its_input_normalisation(tmp_path):
    """train.init_from = an experiment (or a checkpoint in its checkpoints/): the new run's cmvn.json is the
    pretrained run's, not statistics of its own data (none is read here: the data directory does not exist)."""
    import numpy as np

    from soups.data.features import GlobalCMVN
    from soups.train.build import build_cmvn
    from soups.train.config import load_config
    from soups.train.init import init_experiment

    pre = tmp_path / "pre"
    (pre / "checkpoints").mkdir(parents=True)
    (pre / "config.yaml").write_text("{}\n")
    GlobalCMVN.from_stats(np.full(80, 3.0), np.full(80, 13.0), 1).save(pre / "cmvn.json")   # mean 3, std 2
    assert init_experiment(pre) == pre and init_experiment(pre / "checkpoints" / "ckpt-00000010.pt") == pre
    assert init_experiment(tmp_path / "elsewhere.pt") is None
    for i, init in enumerate([pre, pre / "checkpoints" / "ckpt-00000010.pt"]):
        cfg = load_config(None, [f"train.init_from={init}"], data={
            "data": {"dir": str(tmp_path / "no-corpus")}, "model": {"preset": "tiny"},
            "objectives": [{"name": "asr_en", "task": "asr", "lang": "en"}]})
        exp = tmp_path / f"ft{i}"
        exp.mkdir()
        cmvn = build_cmvn(cfg, exp)
        assert torch.allclose(cmvn.mean, torch.full((80,), 3.0)) and torch.allclose(cmvn.std, torch.full((80,), 2.0))
        assert (exp / "cmvn.json").read_text() == (pre / "cmvn.json").read_text()


def test_a_run_started_from_an_experiment_keeps_its_tokenizers_and_trains_only_new_ones(tiny_corpus, tmp_path):
    """The loaded heads were trained on the pretrained run's symbols: the new run keeps those tokenizers (not new
    ones of the same size over its own texts) and trains one only for a language the pretrained run lacked."""
    from soups.data.tokenizer import load_tokenizers, save_tokenizers, train_tokenizer
    from soups.train.build import build_tokenizers
    from soups.train.config import load_config

    pre = tmp_path / "pre"
    (pre / "checkpoints").mkdir(parents=True)
    (pre / "config.yaml").write_text("{}\n")
    theirs = {"asr_en": train_tokenizer("char", ["zyx wvu"], 64), "st": train_tokenizer("char", ["qq rr"], 64)}
    save_tokenizers(theirs, pre / "tokenizers.json")

    def config(*overrides):
        return load_config(None, [f"train.init_from={pre}", *overrides], data={
            "data": {"dir": str(tiny_corpus)}, "model": {"preset": "tiny"},
            "objectives": [{"name": "asr_en", "task": "asr", "lang": "en"},
                           {"name": "asr_fr", "task": "asr", "lang": "fr"},
                           {"name": "st_fr_en", "task": "st", "lang": "fr", "head": "ctc"}],
            "tokenizers": {"asr": {"kind": "char", "vocab_size": 64}, "st": {"kind": "char", "vocab_size": 64}}})

    (tmp_path / "ft").mkdir()
    toks = build_tokenizers(config(), tmp_path / "ft")
    assert toks["asr_en"].state() == theirs["asr_en"].state() and toks["st"].state() == theirs["st"].state()
    assert len(toks["asr_fr"].chars) > 10        # trained on the French transcripts of the corpus
    saved = load_tokenizers(tmp_path / "ft" / "tokenizers.json")
    assert {k: v.state() for k, v in saved.items()} == {k: v.state() for k, v in toks.items()}
    (tmp_path / "spm").mkdir()
    with pytest.raises(ConfigError, match=r"tokenizers.st.kind.*trained its heads with a char tokenizer for st"):
        build_tokenizers(config("tokenizers.st={kind: spm, vocab_size: 80}"), tmp_path / "spm")
