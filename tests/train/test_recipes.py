"""Every shipped recipe (configs/recipes) trains for a few steps and evaluates, on handmade fixtures in the
real layouts (LibriSpeech, AISHELL-1, an audio folder) and the built-in corpus standing in for CoVoST 2."""

from pathlib import Path

import pytest
import yaml

from soups.data.feature_store import compute_features
from soups.data.prepare import prepare_aishell, prepare_audio_dir, prepare_librispeech
from soups.eval.experiment import evaluate_experiment
from soups.train.config import load_config
from soups.train.loop import run_training
from tests.data.corpora_fixture import build_aishell, build_librispeech, write_audio

RECIPES = sorted((Path(__file__).parents[2] / "configs" / "recipes").glob("*.yaml"))
# fixture parts standing in for the parts a small fixture does not have
PART_STANDINS = {"test-other": "test-clean", "dev-other": "dev-clean", "train-other-500": "train-clean-360"}
SMALL = {"preset": "tiny", "encoder": {"d_model": 32, "num_blocks": 1, "num_heads": 2, "subsampling_channels": 8},
         "decoder": {"num_layers": 1, "num_heads": 2, "ff_dim": 64}, "ssl": {"num_codes": 64}}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory, tiny_corpus):
    root = tmp_path_factory.mktemp("corpora")
    ls = build_librispeech(root / "raw", traps=())
    prepare_librispeech(ls, ["train-clean-100", "dev-clean", "test-clean"], root / "librispeech",
                        unlabeled=["train-clean-360"])
    prepare_aishell(build_aishell(root / "raw-zh", traps=()), root / "aishell")
    for i in range(3):
        write_audio(root / "raw-audio" / f"clip{i}.wav", "en")
    prepare_audio_dir(root / "raw-audio", "en", root / "my-audio")
    for d in ("librispeech", "aishell", "my-audio"):
        compute_features(root / d)
    return {"data/librispeech": root / "librispeech", "data/aishell": root / "aishell",
            "data/my-audio": root / "my-audio", "data/covost2": tiny_corpus}


def localize(node, dirs: dict):
    """The recipe with data directories pointing at the fixtures and missing parts replaced."""
    if isinstance(node, dict):
        return {k: localize(v, dirs) for k, v in node.items()}
    if isinstance(node, list):
        return [localize(v, dirs) for v in node]
    if isinstance(node, str):
        return str(dirs.get(node.rstrip("/"), PART_STANDINS.get(node, node)))
    return node


@pytest.mark.slow
@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_recipe_trains_and_evaluates_on_fixtures(path, corpora, tmp_path):
    data = localize(yaml.safe_load(path.read_text()), corpora)
    hf = data["model"].get("encoder", {}).get("hf")
    data["model"] = SMALL
    if hf is not None:  # the recipe's backbone options on a tiny random model of the same family
        from tests.model.test_hf_encoder import save_tiny

        family = "whisper" if "whisper" in hf["path"] else "wav2vec2"
        backbone = save_tiny(family, tmp_path / "backbone", **({"max_source_positions": 1500} if family == "whisper"
                                                               else {"feat_extract_norm": "layer"}))
        data["model"] = {"decoder": SMALL["decoder"], "encoder": {"kind": "hf", "hf": {**hf, "path": backbone}}}
    data["data"].update(batch_cuts=2, dev_utterances=2, num_buckets=2)
    data["tokenizers"]["asr"] = {"kind": "spm", "vocab_size": 100}
    if "st" in data["tokenizers"]:
        data["tokenizers"]["st"] = {"kind": "spm", "vocab_size": 100}
    data["train"].update(max_steps=2, warmup_steps=1, eval_every=0, log_every=1)
    cfg = load_config(None, ["moo.layers.refresh_every=1"] if data["moo"].get("mode") == "layers" else [],
                      data=data)
    summary = run_training(cfg, tmp_path / "exp", progress=False)
    assert summary["step"] == 2 and summary["skipped_steps"] == 0
    results = evaluate_experiment(tmp_path / "exp", "test", max_utterances=2)
    supervised = [o.name for o in cfg.objectives if o.task != "ssl"]
    for name in supervised:  # every supervised objective is scored on every test source of its language
        assert any(key == name or key.startswith(name + "@") for key in results["objectives"]), name
