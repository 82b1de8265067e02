"""The public API: determinism, distinctness, size, and the written form of sampled sentences."""

import os
import random
import subprocess
import sys
import time

import pytest

from soups.data.synthetic import lexicon as lx
from soups.data.synthetic.frames import sample_frame
from soups.data.synthetic.grammar import (LANGUAGES, MAX_PAIRS, SentencePair, realize, role_order, sample_pairs,
                                          sample_pairs_to)
from soups.data.synthetic.surface import length

N = 5000


@pytest.fixture(scope="module")
def corpus():
    return {lang: sample_pairs(lang, N, seed=7) for lang in LANGUAGES}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_five_thousand_distinct_pairs(corpus, lang):
    pairs = corpus[lang]
    assert len(pairs) == N and all(isinstance(p, SentencePair) for p in pairs)
    assert len({p.text for p in pairs}) == N
    if lang == "en":
        assert all(p.text == p.translation for p in pairs)
    else:
        assert len({p.translation for p in pairs}) > 0.95 * N


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_noun_appears_in_the_sentences(corpus, lang):
    text = " ".join(p.text for p in corpus[lang]).lower()
    assert [n.id for n in lx.NOUNS.values() if lx.lemma(n, lang).lower() not in text] == []


def test_same_seed_same_list_different_seed_different_list():
    assert sample_pairs("fr", 300, seed=3) == sample_pairs("fr", 300, seed=3)
    assert sample_pairs("fr", 300, seed=3) != sample_pairs("fr", 300, seed=4)
    assert sample_pairs("fr", 300, seed=3)[:100] == sample_pairs("fr", 100, seed=3)
    assert [p.text for p in sample_pairs("de", 50, 3)] != [p.translation for p in sample_pairs("de", 50, 3)]


def test_same_list_in_another_process_with_another_hash_seed():
    code = ("from soups.data.synthetic.grammar import sample_pairs\n"
            "print('\\n'.join(p.text + '|' + p.translation for p in sample_pairs('zh', 500, 11)))")
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONIOENCODING="utf-8")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, encoding="utf-8",
                         check=True).stdout
    assert out.splitlines() == [p.text + "|" + p.translation for p in sample_pairs("zh", 500, 11)]


def test_invalid_requests():
    with pytest.raises(ValueError):
        sample_pairs("it", 10, 0)
    with pytest.raises(ValueError):
        sample_pairs("en", -1, 0)
    with pytest.raises(ValueError):
        sample_pairs("en", MAX_PAIRS + 1, 0)
    assert sample_pairs("en", 0, 0) == []


def test_english_to_german_pairs_share_the_english_stream():
    en_de = sample_pairs_to("en", "de", 200, seed=5)
    assert len({p.text for p in en_de}) == 200
    assert {p.text for p in en_de} & {p.text for p in sample_pairs("en", 200, seed=5)}
    assert all(p.translation[0].isupper() and p.translation != p.text for p in en_de)


def test_fast_enough():
    start = time.perf_counter()
    sample_pairs("de", 10_000, seed=1)
    assert time.perf_counter() - start < 3.0  # about 0.5 s on one core


@pytest.mark.parametrize("lang", LANGUAGES)
def test_written_form(corpus, lang):
    for pair in corpus[lang]:
        for text, side in ((pair.text, lang), (pair.translation, "en")):
            assert not any(ch.isdigit() for ch in text), text
            assert "  " not in text and text == text.strip(), text
            low, high = (6, 20) if side == "zh" else (4, 14)
            assert low <= length(text, side) <= high, text
    for text in (p.text for p in corpus[lang]):
        body = text.lstrip("¿")
        assert body[0].isupper() or lang == "zh", text
        if lang == "zh":
            assert text[-1] in "。？" and " " not in text and "?" not in text, text
        elif lang == "fr":
            assert text.endswith((" ?", ".")) and not text.endswith(" ."), text
        elif lang == "es" and text.endswith("?"):
            assert text.startswith("¿"), text
        else:
            assert text[-1] in ".?" and text[-2] != " ", text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_questions_and_negations_are_present(corpus, lang):
    texts = [p.text for p in corpus[lang]]
    questions = sum(t.endswith(("?", "？")) for t in texts)
    assert 0.1 * N < questions < 0.35 * N
    marker = {"en": " not ", "fr": " pas", "de": "nicht", "es": " no ", "ca": " no ", "zh": "不"}[lang]
    assert sum(marker in t for t in texts) > 0.08 * N


_MAJOR = {"S", "S.adj", "V", "V2", "O", "O.adj", "P", "P.adj", "T", "M", "PRED"}


def _major_roles(frame, lang):
    out = []
    for role in role_order(frame, lang):
        if role in _MAJOR and (not out or out[-1] != role):
            out.append(role)
    return tuple(out)


@pytest.mark.parametrize(("lang", "share"), [("fr", 0.4), ("de", 0.5), ("es", 0.4), ("ca", 0.5), ("zh", 0.5)])
def test_translation_is_not_word_for_word(lang, share):
    """The same frame puts its constituents in a different order than English in a good share of cases."""
    rng = random.Random(0)
    frames = [sample_frame(rng) for _ in range(1000)]
    differ = sum(_major_roles(f, lang) != _major_roles(f, "en") for f in frames)
    assert differ > share * len(frames)
    assert all(realize(f, lang) for f in frames[:50])
