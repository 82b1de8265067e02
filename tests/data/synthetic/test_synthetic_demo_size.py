"""The ``demo`` size is the dense corpus: few word types, each heard often, yet still a real test
(held-out sentences and voices, noise), on every language it covers."""

import statistics
from collections import Counter

import pytest

from soups.data.stats import words_of
from soups.data.synthetic import corpus
from soups.data.synthetic.corpus import SIZES, corpus_size, plan_language
from soups.data.synthetic.voices import speakers_for
from soups.errors import SoupsError


@pytest.mark.parametrize("lang", ["en", "fr", "de", "es", "ca", "zh"])
def test_demo_size_is_dense_and_held_out(lang):
    plan = plan_language(lang, SIZES["demo"], seed=0)
    by_split = {s: [u for u in plan if u.split == s] for s in ("train", "dev", "test")}
    assert {s: len(v) for s, v in by_split.items()} == {"train": 2000, "dev": 100, "test": 200}
    train = Counter(w for u in by_split["train"] for w in words_of(u.text, lang))
    small = plan_language(lang, SIZES["small"], seed=0)
    small_types = {w for u in small if u.split == "train" for w in words_of(u.text, lang)}
    assert len(train) <= 250 and len(train) < len(small_types) / 4           # few types ...
    assert statistics.median(train.values()) >= 25                          # ... each heard often
    english = Counter(w for u in by_split["train"] for w in words_of(u.translation, "en" if lang != "en" else "de"))
    assert len(english) <= 200 and statistics.median(english.values()) >= 25
    test_words = [w for u in by_split["test"] for w in words_of(u.text, lang)]
    assert sum(w not in train for w in test_words) / len(test_words) < 0.01  # the same lexicon ...
    train_texts = {u.text for u in by_split["train"]}
    assert not any(u.text in train_texts for u in by_split["test"] + by_split["dev"])  # ... new sentences
    train_voices = {s.client_id for s in speakers_for(lang, "train", 0)}
    assert not {u.speaker.client_id for u in by_split["test"]} & train_voices         # unseen voices
    assert len({u.speaker.client_id for u in by_split["train"]}) >= 20
    assert 0.25 < sum(u.effects.noise_kind is not None for u in plan) / len(plan) < 0.35  # noisy share


def test_demo_plan_is_deterministic():
    a = plan_language("de", SIZES["demo"], seed=1)
    assert a == plan_language("de", SIZES["demo"], seed=1) and a != plan_language("de", SIZES["demo"], seed=2)


def test_a_size_without_a_lexicon_for_a_language_is_refused_naming_the_option(monkeypatch, tmp_path):
    import dataclasses

    monkeypatch.setitem(corpus.SIZES, "demo", dataclasses.replace(SIZES["demo"], langs=("en", "fr")))
    with pytest.raises(SoupsError, match=r"--size demo: no lexicon for de"):
        corpus_size("demo", ("en", "de"))
    with pytest.raises(SoupsError, match="--size demo"):
        corpus.build_corpus(tmp_path, "demo", langs=("de",))
    with pytest.raises(SoupsError, match="--size: unknown size 'huge'"):
        corpus_size("huge")


def test_cli_refuses_an_uncovered_language_in_one_line(monkeypatch, tmp_path, capsys):
    import dataclasses

    from soups.cli import main

    monkeypatch.setitem(corpus.SIZES, "demo", dataclasses.replace(SIZES["demo"], langs=("en",)))
    assert main(["prepare", "synthetic", "--size", "demo", "--langs", "en,zh", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("soups: error: --size demo: no lexicon for zh") and "\n" not in err
