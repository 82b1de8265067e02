"""The lexicon: six languages per entry, >= 300 content words per language, every entry reachable."""

import random
from collections import Counter

import pytest

from soups.data.synthetic import lexicon as lx
from soups.data.synthetic.frames import sample_frame
from soups.data.synthetic.grammar import LANGUAGES, content_words


def _entries():
    return [entry for table in lx.TABLES.values() for entry in table.values()]


def test_every_entry_has_all_six_languages():
    for entry in _entries():
        assert len(entry.specs) == len(LANGUAGES) == 6, entry.id
        for lang in LANGUAGES:
            spec = entry.spec(lang)
            assert spec.strip() == spec and spec.split("|")[0].strip("^~"), (entry.id, lang)
            assert not any(ch.isdigit() for ch in spec), (entry.id, lang)


def test_gendered_languages_give_a_gender_to_every_noun():
    for table in (lx.NOUNS, lx.PLACES):
        for entry in table.values():
            for lang, genders in (("fr", "mf"), ("de", "mfn"), ("es", "mf"), ("ca", "mf")):
                assert entry.spec(lang).split("|")[1] in genders, (entry.id, lang)


def test_chinese_is_simplified_han_without_spaces():
    for entry in _entries():
        text = entry.spec("zh").replace("|", "").replace("<", "").replace("~", "")
        assert text and all("\u4e00" <= ch <= "\u9fff" for ch in text), entry.id


@pytest.mark.parametrize("lang", LANGUAGES)
def test_at_least_300_content_words(lang):
    assert len(lx.lexicon_words(lang)) >= 300  # numbers not counted
    assert len(content_words(lang)) >= len(lx.lexicon_words(lang)) + 20


def test_verbs_and_adjectives_have_nouns_to_go_with():
    nouns = list(lx.NOUNS.values())
    for verb in lx.VERBS.values():
        assert any(verb.tags & n.tags for n in nouns), verb.id
        assert not verb.obj or any(verb.obj & n.tags for n in nouns), verb.id
    for adj in lx.ADJECTIVES.values():
        assert any(adj.tags & n.tags for n in nouns), adj.id


def _used(frame):
    used = set()
    for clause in (frame.clause, frame.because):
        if clause is None:
            continue
        for np in (clause.subject, clause.obj):
            if np is not None:
                used.add(("noun", np.noun))
                used.add(("adj", np.adj))
        used |= {("verb", clause.verb), ("adj", clause.state)}
    if frame.place:
        used |= {("place", frame.place.noun), ("adj", frame.place.adj)}
    return used | {("time", frame.time), ("adverb", frame.manner)}


def test_every_entry_is_reachable_and_none_is_rare():
    rng = random.Random(0)
    counts = Counter(u for _ in range(20_000) for u in _used(sample_frame(rng)))
    entries = {(kind, id_) for kind, table in lx.TABLES.items() for id_ in table}
    assert entries - set(counts) == set()
    # ~2,000 training sentences must show each word a few times: here 10x more frames, so >= 10 each
    rare = sorted((counts[e], e) for e in entries if counts[e] < 10)
    assert rare == []
