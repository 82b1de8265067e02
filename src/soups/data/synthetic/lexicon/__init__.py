"""Six-language lexicon of the synthetic corpus: every entry is translated into all of en fr de es ca zh.

Design
------
The data are compact rows (tuples) in one module per category: ``people``, ``animals``, ``things``,
``food`` (nouns), ``places``, ``adjectives``, ``verbs`` and ``times`` (time adverbials and manner adverbs).
A row holds one *spec string* per language, in ``LANGUAGES`` order, packing the morphology that the
language needs with ``|`` separators; each ``realize_<lang>`` module parses its own specs and fills in the
regular forms by rule, so only irregular forms are written out. Noun specs:

* en ``sg[|pl]`` — *man|men*; the plural by rule otherwise
* fr ``sg|gender[|pl]`` — *cheval|m|chevaux*
* de ``sg|gender[|pl][|w]`` — *Löwe|m|Löwen|w* (``w``: weak noun, *den Löwen*); mass nouns have no plural
* es ``sg|gender[|pl][|a]`` — ``a``: feminine noun with stressed *a-*, *el agua*
* ca ``sg|gender[|pl]`` — *gos|m|gossos*
* zh ``noun[|measure word]`` — *猫|只*; mass nouns have no measure word

Example::

    ("dog", "animal dog", "dog", "chien|m", "Hund|m|Hunde", "perro|m", "gos|m|gossos", "狗|只")

Rows are listed most common first; ``Entry.rank`` keeps that order so that sampling can make common
words frequent while keeping every word reachable. The other categories document their own row format.

>>> NOUNS["dog"].spec("de")
'Hund|m|Hunde'
"""

from __future__ import annotations

from dataclasses import dataclass

from . import adjectives, animals, food, people, places, things, times, verbs

LANGUAGES = ("en", "fr", "de", "es", "ca", "zh")
_INDEX = {lang: i for i, lang in enumerate(LANGUAGES)}


@dataclass(frozen=True)
class Entry:
    """One lexical entry with its spec in each language."""

    kind: str  # noun | place | adj | verb | time | adverb
    id: str
    specs: tuple[str, ...]  # one per language, in LANGUAGES order
    rank: int = 0  # 0 = most common within its category
    tags: frozenset[str] = frozenset()  # nouns: classes; adjectives: classes they modify; verbs: subject classes
    obj: frozenset[str] = frozenset()  # verbs: object classes (empty: intransitive)
    flags: str = ""  # adjectives: "s" state; verbs: "m" manner, "g" goal; times: "f" frequency adverb
    tenses: tuple[str, ...] = ()  # times: tenses the adverbial combines with

    def spec(self, lang: str) -> str:
        return self.specs[_INDEX[lang]]


def _nouns() -> dict[str, Entry]:
    out = {}
    for module in (people, animals, things, food):
        for rank, (id_, tags, *specs) in enumerate(module.ROWS):
            out[id_] = Entry("noun", id_, tuple(specs), rank, frozenset(tags.split()))
    return out


def _table(kind: str, rows) -> dict[str, Entry]:
    out = {}
    for rank, row in enumerate(rows):
        if kind == "verb":
            id_, subj, obj, flags, *specs = row
            entry = Entry(kind, id_, tuple(specs), rank, frozenset(subj.split()), frozenset(obj.split()), flags)
        elif kind == "adj":
            id_, classes, flags, *specs = row
            entry = Entry(kind, id_, tuple(specs), rank, frozenset(classes.split()), flags=flags)
        elif kind == "time":
            id_, tenses, *specs = row
            words = tenses.split()
            flags = "f" if "freq" in words else ""
            entry = Entry(kind, id_, tuple(specs), rank, flags=flags, tenses=tuple(t for t in words if t != "freq"))
        else:  # place, adverb
            id_, *specs = row
            entry = Entry(kind, id_, tuple(specs), rank, frozenset({"place"}) if kind == "place" else frozenset())
        out[id_] = entry
    return out


NOUNS = _nouns()
PLACES = _table("place", places.ROWS)
ADJECTIVES = _table("adj", adjectives.ROWS)
VERBS = _table("verb", verbs.ROWS)
TIMES = _table("time", times.TIMES)
ADVERBS = _table("adverb", times.ADVERBS)
TABLES = {"noun": NOUNS, "place": PLACES, "adj": ADJECTIVES, "verb": VERBS, "time": TIMES, "adverb": ADVERBS}

# Function words left out when listing content words (articles, prepositions, clitics, quantifiers).
_STOP = {
    "en": {"the", "a", "an", "in", "on", "at", "to", "for", "with", "of", "by", "up", "every", "this"},
    "fr": {"le", "la", "les", "à", "au", "de", "du", "des", "en", "se", "avec", "tous", "ce", "chaque"},
    "de": {"am", "im", "in", "der", "die", "das", "den", "dem", "sich", "mit", "auf", "jeden", "jede"},
    "es": {"el", "la", "los", "las", "en", "por", "a", "al", "de", "del", "con", "todos", "todas", "que", "esta"},
    "ca": {"el", "la", "els", "les", "a", "al", "de", "del", "amb", "en", "cada", "que", "aquest", "aquesta"},
    "zh": set(),
}


def lemma(entry: Entry, lang: str) -> str:
    """The dictionary form of an entry (singular noun, masculine adjective, infinitive, whole phrase)."""
    spec = entry.spec(lang)
    if entry.kind in ("time", "adverb"):
        return spec
    head = spec.split("|")[0].lstrip("^~")
    if lang == "zh":
        return head.split("<")[0]
    if entry.kind == "verb" and lang == "de":
        head = head.split("/")[0]
    return head


def _tokens(text: str, lang: str) -> list[str]:
    out = []
    for token in text.split():
        if lang in ("fr", "ca") and token[:2] in ("l'", "d'"):
            token = token[2:]
        if token.lower() not in _STOP[lang]:
            out.append(token)
    return out


def lexicon_words(lang: str) -> set[str]:
    """Open-class words of the lexicon in ``lang`` (numbers excluded): tokens of every entry's lemma."""
    words: set[str] = set()
    for table in TABLES.values():
        for entry in table.values():
            words.update(_tokens(lemma(entry, lang), lang))
    return words
