"""The built-in corpus on disk: deterministic to the byte, idempotent, real CV + CoVoST layout, held-out voices."""

import csv
import hashlib
from collections import Counter
from pathlib import Path

import pytest
import soundfile as sf

from soups.data.synthetic.corpus import SIZES, build_corpus, plan_language
from soups.data.synthetic.voices import SPLIT_VARIANTS, speakers_for

LANGS = ("fr", "zh")


def digest_tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory):
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    report_a = build_corpus(a, "tiny", seed=3, langs=LANGS, workers=1)
    report_b = build_corpus(b, "tiny", seed=3, langs=LANGS, workers=2)
    return a, b, report_a, report_b


def test_same_seed_gives_byte_identical_corpora_whatever_the_workers(two_builds):
    a, b, report_a, _ = two_builds
    da, db = digest_tree(a), digest_tree(b)
    assert da == db
    tiny = SIZES["tiny"]
    n = (tiny.train + tiny.dev + tiny.test) * len(LANGS)
    assert report_a["utterances"] == n and sum(1 for k in da if k.endswith(".flac")) == n


def test_second_run_reuses_everything_and_a_lost_clip_is_restored_identically(two_builds):
    a, _, _, _ = two_builds
    before = digest_tree(a)
    again = build_corpus(a, "tiny", seed=3, langs=LANGS, workers=2)
    assert again["synthesized_now"] == 0 and digest_tree(a) == before
    victim = next(iter(sorted((a / "cv" / "fr" / "clips").glob("*.flac"))))
    victim.unlink()
    repaired = build_corpus(a, "tiny", seed=3, langs=LANGS, workers=2)
    assert 0 < repaired["synthesized_now"] <= 500  # only the chunk that lost a clip
    assert digest_tree(a) == before


def test_another_seed_gives_another_corpus(two_builds, tmp_path):
    a, _, _, _ = two_builds
    build_corpus(tmp_path, "tiny", seed=4, langs=("fr",), workers=2)
    assert (tmp_path / "cv/fr/validated.tsv").read_bytes() != (a / "cv/fr/validated.tsv").read_bytes()


def test_layout_columns_and_audio_format(two_builds):
    a, _, _, _ = two_builds
    with open(a / "cv" / "zh-CN" / "validated.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert list(rows[0]) == ["client_id", "path", "sentence", "up_votes", "down_votes", "age", "gender", "accent"]
    with open(a / "covost" / "covost_v2.zh-CN_en.tsv", encoding="utf-8") as f:
        covost = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\"))
    assert list(covost[0]) == ["path", "sentence", "translation", "split"]
    assert Counter(r["split"] for r in covost) == {"train": 40, "dev": 10, "test": 10}
    assert {r["path"] for r in rows} == {r["path"] for r in covost}
    info = sf.info(str(a / "cv" / "zh-CN" / "clips" / rows[0]["path"]))
    assert (info.samplerate, info.channels) == (16000, 1) and 0.5 < info.duration < 12


def test_dev_and_test_sentences_never_occur_in_training():
    for lang in ("en", "de", "zh"):
        plan = plan_language(lang, SIZES["small"], seed=0)
        by_split = {s: {u.text for u in plan if u.split == s} for s in ("train", "dev", "test")}
        assert not by_split["train"] & by_split["dev"] and not by_split["train"] & by_split["test"]
        assert not by_split["dev"] & by_split["test"]


def test_speakers_never_cross_splits_and_test_has_unseen_voice_variants():
    for lang in ("en", "fr", "de", "es", "ca", "zh"):
        spk = {s: speakers_for(lang, s, seed=0) for s in ("train", "dev", "test")}
        ids = {s: {x.client_id for x in v} for s, v in spk.items()}
        assert not ids["train"] & ids["test"] and not ids["train"] & ids["dev"]
        train_variants = {x.voice.variant for x in spk["train"]}
        unseen = {x.voice.variant for x in spk["test"]} - train_variants
        assert unseen and unseen <= set(SPLIT_VARIANTS["test"])


def test_a_share_of_utterances_is_noisy_at_varied_snr():
    plan = plan_language("es", SIZES["small"], seed=0)
    noisy = [u.effects for u in plan if u.effects.noise_kind]
    assert 0.25 < len(noisy) / len(plan) < 0.35
    snrs = [fx.snr_db for fx in noisy]
    assert min(snrs) < 8 and max(snrs) > 22 and {fx.noise_kind for fx in noisy} == {"white", "pink", "brown"}


def test_lexicon_fraction_gives_a_smaller_vocabulary_deterministically():
    import re

    from soups.data.synthetic.corpus import Conditions

    def types(fraction):
        plan = plan_language("en", SIZES["small"], seed=0, conditions=Conditions(lexicon_fraction=fraction))
        return {w for u in plan for w in re.findall(r"[a-z'-]+", u.text.lower())}, [u.text for u in plan[:20]]

    full, first_full = types(1.0)
    small, first_small = types(0.15)
    assert len(small) < 0.6 * len(full)
    assert types(0.15)[1] == first_small and first_small != first_full
    with pytest.raises(ValueError, match="lexicon-fraction"):
        Conditions(lexicon_fraction=0.0)


def test_a_languages_audio_does_not_depend_on_the_other_languages_built_with_it(tmp_path, monkeypatch):
    """Synthesis chunks never span languages (espeak-ng state carries over inside a chunk): French built alone
    is byte-identical to French built after Chinese, with chunks small enough that one would otherwise span both."""
    from soups.data.synthetic import corpus

    monkeypatch.setitem(corpus.SIZES, "tiny", corpus.CorpusSize(train=6, dev=2, test=2))
    monkeypatch.setattr(corpus, "CHUNK", 4)
    build_corpus(tmp_path / "alone", "tiny", seed=5, langs=("fr",), workers=1)
    build_corpus(tmp_path / "both", "tiny", seed=5, langs=("zh", "fr"), workers=2)
    fr = lambda root: digest_tree(root / "cv" / "fr" / "clips")  # noqa: E731
    assert fr(tmp_path / "both") == fr(tmp_path / "alone") and len(fr(tmp_path / "alone")) == 10
    chunks = corpus._chunks(plan_language("zh", corpus.SIZES["tiny"], 5) + plan_language("fr", corpus.SIZES["tiny"], 5))
    assert [len(c) for c in chunks] == [4, 4, 2, 4, 4, 2] and [c[0].lang for c in chunks] == ["zh"] * 3 + ["fr"] * 3
