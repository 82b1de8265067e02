"""Decoding a trained experiment: n-gram LM fusion wired through training and evaluation (the LM texts are
kept in the experiment, decoding works with and without them, bad settings are refused naming the key) and
``soups transcribe`` on audio files (any sample rate, mono or stereo)."""

from __future__ import annotations

import gzip

import pytest

from soups.errors import ConfigError
from soups.train.config import load_config
from tests.train.test_training import make_cfg

OBJECTIVES = [{"name": "asr_en", "task": "asr", "lang": "en"},
              {"name": "st_de_en", "task": "st", "lang": "de", "head": "ctc"}]


@pytest.fixture(scope="module")
def trained(tiny_corpus, tmp_path_factory):
    from soups.train.loop import run_training

    exp = tmp_path_factory.mktemp("lm") / "exp"
    cfg = make_cfg(tiny_corpus, "train.max_steps=2", "data.dev_utterances=2", "eval.ctc_beam=4",
                   "eval.lm={order: 3, weight: 0.5, bonus: 1.0}", objectives=OBJECTIVES)
    run_training(cfg, exp, progress=False)
    return cfg, exp


def test_training_keeps_the_lm_texts_in_the_experiment(trained):
    from soups.data.manifests import load_cuts
    from soups.data.text import normalize_asr

    cfg, exp = trained
    with gzip.open(exp / "lm" / "asr_en.txt.gz", "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    cuts = list(load_cuts(cfg.data.sources("en", "train")[0].path))
    assert lines == [" ".join(normalize_asr(c.supervisions[0].text, "en").split()) for c in cuts]
    with gzip.open(exp / "lm" / "st.txt.gz", "rt", encoding="utf-8") as f:  # the CTC translation head's LM
        assert len(f.read().splitlines()) == len(list(load_cuts(cfg.data.sources("de", "train")[0].path)))


def test_lms_are_built_from_the_experiment_without_the_corpus(trained):
    from soups.data.tokenizer import load_tokenizers
    from soups.eval.fusions import build_lm_fusions

    cfg, exp = trained
    cfg.data.dir = str(exp / "no-such-corpus")
    fusions = build_lm_fusions(cfg, exp, load_tokenizers(exp / "tokenizers.json"))
    assert set(fusions) == {"asr_en", "st"} and fusions["asr_en"].lm.order == 3


def test_eval_with_and_without_the_lm_and_with_overrides(trained):
    from soups.eval.experiment import evaluate_experiment

    _, exp = trained
    hyp_chars = lambda res: len(open(res["objectives"]["asr_en"]["hyp"]).read().replace(" ", ""))  # noqa: E731
    with_lm = evaluate_experiment(exp, "test", max_utterances=2)
    assert set(with_lm["objectives"]) == {"asr_en", "st_de_en"}
    without = hyp_chars(evaluate_experiment(exp, "test", max_utterances=2, lm=False))
    # a large per-token bonus (an override) makes the barely trained model emit more than plain beam search
    eager = hyp_chars(evaluate_experiment(exp, "test", max_utterances=2, overrides=["eval.lm.bonus=30"]))
    assert eager > without
    with pytest.raises(ConfigError, match="train.max_steps"):
        evaluate_experiment(exp, "test", max_utterances=2, overrides=["train.max_steps=3"])


def test_a_second_evaluation_into_the_same_folder_is_refused_in_one_line(trained, hold_elsewhere, capsys):
    from soups.cli import main

    _, exp = trained
    out = exp / "eval" / "dev"
    holder = hold_elsewhere(out)                      # another `soups eval EXP --split dev` at work
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert main(["eval", str(exp), "--split", "dev", "--max-utterances", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "in use by another soups process" in err and f"pid {holder.pid}" in err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before      # nothing written
    holder.kill()
    holder.wait()
    assert main(["eval", str(exp), "--split", "dev", "--max-utterances", "1"]) == 0   # free again
    assert (out / "results.json").is_file()


def test_ctc_search_workers_and_chunks_change_nothing_but_the_time(trained, monkeypatch):
    from soups.eval import evaluate as evaluate_module
    from soups.eval.experiment import evaluate_experiment

    _, exp = trained
    hyps = lambda res: {k: open(v["hyp"]).read() for k, v in res["objectives"].items()}  # noqa: E731
    run = lambda *o: hyps(evaluate_experiment(exp, "test", max_utterances=6, overrides=[  # noqa: E731
        "eval.batch_cuts=2", *o]))
    one = run("eval.ctc_workers=1")
    assert run("eval.ctc_workers=2") == one and len(one["asr_en"].splitlines()) == 6
    monkeypatch.setattr(evaluate_module, "_DEFERRED_VALUES", 1)  # search after every batch of 2
    assert run("eval.ctc_workers=2") == one
    with pytest.raises(ConfigError, match="eval.ctc_workers"):
        evaluate_experiment(exp, "test", max_utterances=2, overrides=["eval.ctc_workers=0"])


def test_bad_lm_settings_name_the_key():
    base = {"objectives": [{"name": "asr_en", "task": "asr", "lang": "en"}]}
    with pytest.raises(ConfigError, match="eval.lm.order.*ctc_beam"):
        load_config(None, ["eval.lm.order=4"], data=base)
    with pytest.raises(ConfigError, match="eval.lm.weight"):
        load_config(None, ["eval.ctc_beam=4", "eval.lm.order=4", "eval.lm.weight=-1"], data=base)
    with pytest.raises(ConfigError, match="eval.ctc_beam"):
        load_config(None, ["eval.ctc_beam=0"], data=base)
    with pytest.raises(ConfigError, match="eval.lm.ordr"):
        load_config(None, ["eval.lm.ordr=4"], data=base)
    with pytest.raises(ConfigError, match=r"eval.lm.word_order.*character CTC tokenizer; these are \['spm'\]"):
        load_config(None, ["eval.ctc_beam=4", "eval.lm={order: 4, word_order: 2}"], data=base)
    load_config(None, ["eval.ctc_beam=4", "eval.lm={order: 4, word_order: 2}", "tokenizers.asr.kind=char"], data=base)


def test_transcribe_files_of_any_rate_and_channel_count(trained, tmp_path):
    import numpy as np
    import soundfile as sf

    from soups.errors import DataError, SoupsError
    from soups.eval.transcribe import load_audio_16k, transcribe

    _, exp = trained
    t = np.arange(16000) / 16000
    mono = (0.3 * np.sin(2 * np.pi * 220 * t) * np.sin(2 * np.pi * 3 * t)).astype(np.float32)
    sf.write(tmp_path / "mono.wav", mono, 16000)
    sf.write(tmp_path / "stereo.flac", np.stack([mono, mono], axis=1), 16000)
    sf.write(tmp_path / "rate8k.wav", mono[::2], 8000)
    assert np.allclose(load_audio_16k(tmp_path / "stereo.flac"), mono, atol=1e-4)
    assert load_audio_16k(tmp_path / "rate8k.wav").shape == (16000,)
    texts = transcribe(exp, "en", "asr", [tmp_path / "mono.wav", tmp_path / "stereo.flac", tmp_path / "rate8k.wav"])
    assert len(texts) == 3 and all(isinstance(x, str) for x in texts)
    assert texts[0] == texts[1]                          # the channels are averaged: same signal, same text
    assert len(transcribe(exp, "de", "st", [tmp_path / "mono.wav"])) == 1
    with pytest.raises(SoupsError, match="no asr objective for language 'fr'.*asr:en"):
        transcribe(exp, "fr", "asr", [tmp_path / "mono.wav"])
    with pytest.raises(DataError, match="missing.wav"):
        transcribe(exp, "en", "asr", [tmp_path / "missing.wav"])
    sf.write(tmp_path / "short.wav", mono[:800], 16000)
    with pytest.raises(DataError, match="too short"):
        transcribe(exp, "en", "asr", [tmp_path / "short.wav"])
    sf.write(tmp_path / "nan.wav", np.full(16000, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    with pytest.raises(DataError, match="nan.wav: unusable audio: non-finite samples"):
        transcribe(exp, "en", "asr", [tmp_path / "nan.wav"])


def test_word_lm_needs_a_character_tokenizer(trained):
    from soups.data.tokenizer import load_tokenizers
    from soups.eval.fusions import build_lm_fusions

    cfg, exp = trained   # make_cfg's tokenizers are SentencePiece
    cfg.eval.lm.word_order = 2
    try:
        with pytest.raises(ConfigError, match="eval.lm.word_order.*no CTC tokenizer has word boundaries"):
            build_lm_fusions(cfg, exp, load_tokenizers(exp / "tokenizers.json"))
    finally:
        cfg.eval.lm.word_order = 0
