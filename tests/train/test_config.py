"""Experiment configs: typed loading, dotted overrides, errors that name the key, resume diffs."""

import re
from pathlib import Path

import pytest

from soups.errors import ConfigError
from soups.train.config import config_diff, load_config

BASE = {"objectives": [{"name": "asr_fr", "task": "asr", "lang": "fr"},
                       {"name": "st_fr_en", "task": "st", "lang": "fr"},
                       {"name": "ssl", "task": "ssl"}]}


def cfg(*overrides, **extra):
    import copy

    data = copy.deepcopy(BASE)
    data.update(extra)
    return load_config(None, list(overrides), data=data)


def test_defaults_heads_and_streams():
    c = cfg()
    assert [o.head for o in c.objectives] == ["ctc", "decoder", "bestrq"]
    assert [o.stream for o in c.objectives] == ["fr", "fr", "ssl"]
    assert c.supervised_langs == ["fr"]


def test_overrides_parse_yaml_values_including_list_items():
    c = cfg("train.max_steps=7", "train.lr_backbone=1e-3", "objectives.1.weight=0.5", "moo.mode=fast",
            "data.upsample={fr: 4}", "train.max_minutes=null")
    assert (c.train.max_steps, c.train.lr_backbone, c.objectives[1].weight, c.moo.mode) == (7, 1e-3, 0.5, "fast")
    assert c.data.upsample == {"fr": 4} and c.train.max_minutes is None


@pytest.mark.parametrize("override,key,text", [
    ("train.max_stepz=3", "train.max_stepz", "unknown key"),
    ("moo.mode=magic", "moo.mode", "valid choices: linear, faithful, layers, fast"),
    ("train.max_steps=three", "train.max_steps", "expected an integer"),
    ("objectives.0.head=rnnt", "objectives[0].head", "valid choices: ctc"),
    ("objectives.7.weight=1", "objectives.7", "out of range"),
    ("moo.update_every=0", "moo.update_every", ">= 1"),
    ("moo.layers.probe_sketch_k=-1", "moo.layers.probe_sketch_k", ">= 0"),
    ("train.betas=0.9", "train.betas", "expected a list"),
])
def test_bad_values_name_the_key(override, key, text):
    with pytest.raises(ConfigError) as err:
        cfg(override)
    assert err.value.key == key and text in str(err.value)


@pytest.mark.parametrize("override,key,text", [
    ("moo.hierarchy={formulation: vm, levels: [[asr_fr], [st_fr_en], [ssl]], "
     "penalties: [{initial: 0.1, increase: 0.02, cap: 1.5}]}", "moo.hierarchy.penalties", "need 2 penalty"),
    ("moo.hierarchy={formulation: vm, levels: [[asr_fr], [nope]]}", "moo.hierarchy.levels[1]", "unknown objective"),
    ("moo.hierarchy={formulation: vc, levels: [[asr_fr, st_fr_en, ssl]]}", "moo.hierarchy.levels", "2 level(s)"),
    ("moo.hierarchy={formulation: vm}", "moo.hierarchy.levels", "needs its levels"),
])
def test_the_hierarchy_is_checked_at_load(override, key, text):
    """Levels and penalty schedules are checked against the objectives when the config loads, before any
    tokenizer or model is built."""
    with pytest.raises(ConfigError) as err:
        cfg(override)
    assert err.value.key == key and text in str(err.value)


def test_structural_errors():
    with pytest.raises(ConfigError, match="duplicate objective"):
        load_config(None, data={"objectives": [BASE["objectives"][0]] * 2})
    with pytest.raises(ConfigError, match="X -> English"):
        load_config(None, data={"objectives": [{"name": "st", "task": "st", "lang": "en"}]})
    with pytest.raises(ConfigError, match="needs its language"):
        load_config(None, data={"objectives": [{"name": "a", "task": "asr"}]})
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("/nonexistent.yaml")
    with pytest.raises(ConfigError, match=r"language\(s\) \['ca'\] are used by no objective"):
        load_config(None, data={**BASE, "data": {"upsample": {"ca": 4}}})


def test_config_diff_lists_changed_keys_and_honours_ignores():
    a, b = cfg(), cfg("train.max_steps=5", "train.log_every=3")
    assert config_diff(a, b) == ["train.log_every: 10 -> 3", "train.max_steps: 1000 -> 5"]
    assert config_diff(a, b, ignore=("train.log_every",)) == ["train.max_steps: 1000 -> 5"]


def test_the_demo_configs_load_and_the_demo_reads_the_dense_corpus():
    root = Path(__file__).parents[2] / "configs"
    demo, small = load_config(root / "demo.yaml"), load_config(root / "demo_small.yaml")
    assert demo.data.dir == "data/synthetic-demo" and small.data.dir == "data/synthetic-small"
    assert len(demo.objectives) == len(small.objectives) == 10
    assert demo.train.max_minutes is not None and demo.train.max_steps > 0


def test_probe_configs_load_with_the_overrides_their_headers_print():
    """Every `soups train configs/probes/X.yaml --out DIR overrides…` line in a probe's header is a valid config."""
    import shlex

    for path in sorted((Path(__file__).parents[2] / "configs" / "probes").glob("*.yaml")):
        header = [line[1:].strip() for line in path.read_text().splitlines() if line.startswith("#")]
        commands = " ".join(header).replace("\\ ", " ").split("soups train ")[1:]
        assert commands, path
        for command in commands:
            words = shlex.split(command.split("#")[0])
            assert words[0] == f"configs/probes/{path.name}" and words[1] == "--out", command
            overrides = [w for w in words[3:] if "=" in w]
            cfg = load_config(path, overrides)
            assert [o.name for o in cfg.objectives] == ["asr_en"], command


def test_load_config_leaves_the_given_data_unchanged():
    """Overrides apply to a copy: a dict reused for several configs (as tests and scripts do) stays as it was."""
    data = {"model": {"preset": "tiny", "encoder": {"d_model": 64}}, "objectives": [
        {"name": "asr_en", "task": "asr", "lang": "en"}]}
    cfg = load_config(None, ["model.encoder.subsampling_factor=2", "objectives.0.weight=0.5"], data=data)
    assert cfg.model.encoder["subsampling_factor"] == 2 and cfg.objectives[0].weight == 0.5
    assert data == {"model": {"preset": "tiny", "encoder": {"d_model": 64}}, "objectives": [
        {"name": "asr_en", "task": "asr", "lang": "en"}]}


@pytest.mark.parametrize("override", [
    "data.batch_cuts=0", "data.batch_cuts=-1", "data.num_buckets=0", "data.max_duration=0", "data.dev_utterances=0",
    "data.subset_fraction={fr: 0}", "data.subset_fraction={fr: 1.5}", "data.upsample={fr: 0}",
    "data.specaugment.time_width_ratio=2", "data.specaugment.freq_masks=-1", "data.feature_cache_mb=-1",
    "data.in_memory_cuts=-1", "tokenizers.asr.vocab_size=3",
    "train.max_steps=-5", "train.max_steps=0", "train.steps_per_epoch=0", "train.max_minutes=0", "train.lr_backbone=-1",
    "train.lr_heads=-0.1", "train.weight_decay=-1", "train.betas=[0.9, 1.0]", "train.warmup_steps=-1",
    "train.min_lr_ratio=1.5", "train.grad_clip=0", "train.log_every=0", "train.eval_every=-1",
    "train.checkpoint_every=-1", "train.keep_last=0", "train.threads=0", "train.dist_timeout_s=0",
    "train.accumulate=0", "eval.max_len_ratio=0", "eval.batch_cuts=0", "eval.lm.bonus=-1", "moo.layers.refresh_every=0",
    "objectives.0.weight=-1",
])
def test_numbers_out_of_range_are_refused_naming_the_key(override):
    key = override.split("=")[0].replace("objectives.0", "objectives[0]")
    with pytest.raises(ConfigError, match=f"config key '{re.escape(key)}': must be"):
        cfg(override)


def test_bestrq_backbone_config_loads_with_every_command_of_its_header():
    """configs/backbones/dense_conformer_bestrq.yaml: pretraining (BEST-RQ alone), VM-UAS and mean-weight
    fine-tuning from the pretrained run's directory, and from scratch — each header command is a valid config."""
    import re
    import shlex

    path = Path(__file__).parents[2] / "configs" / "backbones" / "dense_conformer_bestrq.yaml"
    header = " ".join(line[1:].split(" # ")[0].strip() for line in path.read_text().splitlines()
                      if line.startswith("#"))
    shell = {name: re.search(rf"\b{name}=(\S+)", header).group(1) for name in ("C", "O", "PT")}
    shell["k"] = "0"
    lin = shlex.split(re.search(r"LIN=\((.*?)\)", header).group(1))
    configs = {}
    for command in re.findall(r"soups train (.*?)(?= soups | PT=| for | done|$)", header):
        words = [w for word in shlex.split(command) for w in (lin if word == "${LIN[@]}" else [word])]
        words = [re.sub(r"\$(\w+)", lambda m: shell[m.group(1)], w) for w in words]
        assert words[0] == str(path.relative_to(path.parents[2])) and words[1] == "--out", command
        configs[words[2].split("/seed")[0].rsplit("/", 1)[1]] = load_config(path, [w for w in words[3:] if "=" in w])
    assert sorted(configs) == ["bestrq-pt6000", "pretrained-frozen-linear", "pretrained-linear", "pretrained-vm-uas",
                               "pretrained-vm-uas-lr1e-3", "random-frozen-linear", "scratch-linear", "scratch-vm-uas"]
    assert all(configs[n].train.freeze == ["encoder"] for n in configs if "frozen" in n)
    lr = {name: configs[name].train.lr_backbone for name in ("pretrained-vm-uas-lr1e-3", "pretrained-vm-uas")}
    assert lr["pretrained-vm-uas-lr1e-3"] == 1e-3 < lr["pretrained-vm-uas"]
    assert [o.task for o in configs["bestrq-pt6000"].objectives] == ["ssl"]
    for name in ("pretrained-linear", "scratch-linear", "pretrained-frozen-linear", "random-frozen-linear"):
        assert configs[name].moo.mode == "linear" and [o.weight for o in configs[name].objectives] == [0.2] * 5
    for name, cfg in configs.items():
        assert cfg.train.init_from == ("runs/backbones/bestrq-pt6000" if name.startswith("pretrained") else None)
        if name != "bestrq-pt6000":
            assert [o.name for o in cfg.objectives] == [o.name for o in configs["scratch-vm-uas"].objectives]
