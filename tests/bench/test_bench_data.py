"""``soups bench data``: one JSON object with throughput on the built-in corpus and start-up on a large manifest."""

import json

import pytest

from soups.bench.data import write_large_manifest
from soups.cli import main
from soups.data.manifests import load_cuts


def test_large_manifest_records_point_at_real_audio(tmp_path):
    path = tmp_path / "cuts_en_train.jsonl.gz"
    info = write_large_manifest(path, 50, tmp_path / "clips", clips=2)
    cuts = list(load_cuts(path))
    assert info["cuts"] == 50 and len(cuts) == 50 and len({c.id for c in cuts}) == 50
    assert {c.recording.sources[0].source for c in cuts} == {str((tmp_path / "clips" / f"clip{i}.wav").absolute())
                                                            for i in range(2)}
    assert cuts[3].load_audio().shape[-1] == cuts[1].recording.num_samples   # a real, decodable file


def test_bench_data_json(tmp_path, capsys):
    n = 3000
    assert main(["bench", "data", "--work", str(tmp_path), "--manifest-size", str(n), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    f = result["features"]
    assert f["utterances"] == 40 and f["extraction_threads"] == 2           # built-in corpus, tiny, English train
    for part in ("extraction", "batching_from_features", "batching_from_audio"):
        assert f[part]["utt_per_s"] > 0 and f[part]["x_realtime"] > 1
    assert f["batching_from_features"]["utterances"] == 40                   # exactly one epoch
    s = result["startup"]
    assert s["num_cuts"] == n and s["manifest"]["cuts"] == n and s["first_batch_size"] == 16
    # building the stream leaves no per-utterance objects alive (an eager CutSet would add ~9 per cut)
    assert s["objects_after_build"] - s["objects_after_imports"] < n // 10
    assert s["peak_rss_mb"] >= s["rss_after_first_batch_mb"] > 0 and s["eager_kb_per_cut"] > 0


def test_bench_padding_reports_the_utterance_share_of_the_joint_batch(tiny_corpus, tmp_path, capsys):
    config = tmp_path / "demo.yaml"
    text = open("configs/demo.yaml").read()
    assert "dir: data/synthetic-demo" in text
    config.write_text(text.replace("dir: data/synthetic-demo", f"dir: {tiny_corpus}"))
    assert main(["bench", "data", "--work", str(tmp_path), "--skip-throughput", "--padding", str(config),
                 "--padding-steps", "40", "--json"]) == 0
    p = json.loads(capsys.readouterr().out)["padding"]
    assert p["steps"] == 40 and p["window"] == 40
    for name in ("synchronised", "own_epochs"):
        assert len(p[name]) == 1 and 0 < p[name][0] < 1 and p[f"{name}_mean"] == p[name][0]
    # (that synchronised streams batch similar durations is tested in tests/data/test_streams.py; 40 utterances
    # per language give only 2 duration buckets, too few for the two shares to differ reliably here)


def test_bench_prefetch_reports_the_data_time_in_the_step_and_read_ahead(tiny_corpus, tmp_path, capsys):
    config = tmp_path / "demo.yaml"
    config.write_text(open("configs/demo.yaml").read().replace("dir: data/synthetic-demo", f"dir: {tiny_corpus}"))
    assert main(["bench", "data", "--work", str(tmp_path), "--skip-throughput", "--prefetch", str(config),
                 "--prefetch-steps", "2", "--prefetch-repeats", "2", "--prefetch-set", "train.threads=1",
                 "--prefetch-set", "model.encoder.d_model=64", "--json"]) == 0
    p = json.loads(capsys.readouterr().out)["prefetch"]
    assert p["threads"] == 1 and p["overrides"] == ["train.threads=1", "model.encoder.d_model=64"]
    assert [r["depth"] for r in p["runs"]] == [0, 1, 1, 0]           # alternating rounds
    for name in ("inline", "ahead"):
        assert 0 <= p[name]["data_s"] < p[name]["step_s"] <= p[name]["wall_s"] * 2
        assert p[name]["data_share"] == pytest.approx(p[name]["data_s"] / p[name]["step_s"], rel=0.05, abs=1e-4)
    assert p["inline"]["data_s"] > 0 and p["wall_ratio"] > 0
    assert p["auto_depth"] == 0                                      # on a CPU, batches are read in the step


def test_bench_streams_times_draws_in_memory_lazily_and_uncached_and_checks_they_are_the_same(tiny_corpus, tmp_path, capsys):
    config = tmp_path / "demo.yaml"
    text = open("configs/demo.yaml").read()
    assert "  threads: 2" in text
    config.write_text(text.replace("dir: data/synthetic-demo", f"dir: {tiny_corpus}")
                      .replace("  threads: 2", "  threads: 1\n  steps_per_epoch: 5"))
    assert main(["bench", "data", "--work", str(tmp_path), "--skip-throughput", "--streams", str(config),
                 "--streams-steps", "12", "--streams-repeats", "1", "--json"]) == 0
    p = json.loads(capsys.readouterr().out)["streams"]
    assert p["steps"] == 12 and p["epoch_batches"] == 5 and p["same_batches"] is True
    for name in ("in_memory", "lazy", "no_feature_cache"):
        assert len(p[name]["runs"]) == 1 and p[name]["epoch_starts"] == 2      # steps 5 and 10 start an epoch
        assert 0 < p[name]["median_s"] and 0 < p[name]["mean_s"] and p[name]["epoch_start_s"] > 0
    assert p["mean_ratio"] == pytest.approx(p["lazy"]["mean_s"] / p["in_memory"]["mean_s"], abs=0.01)
    assert p["feature_cache_ratio"] == pytest.approx(p["no_feature_cache"]["mean_s"] / p["in_memory"]["mean_s"],
                                                     abs=0.01)
