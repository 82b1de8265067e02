"""German morphology: articles and adjective endings by case, noun case forms, verbs, prepositions.

* Articles and the three adjective declensions: weak after *der/die/das* (*den großen Hund*), mixed after
  *ein/kein* (*einen großen Hund*), strong without article (*drei große Hunde*, *kalte Milch*).
* Nouns: dative plural *-n* (*den Kindern*, but *den Autos*); weak masculines take *-en* outside the
  nominative (*den Löwen*, *dem Jungen*).
* Two-way prepositions take the dative for a location and the accusative for a goal, with the usual
  contractions: *im Park / in den Park, am See / ans Meer, zum Bahnhof*.
* Verbs: separable particles (*schaut … an*, *anschaut* in a subordinate clause), *sein* in the perfect
  for movement (*ist gegangen*), dative or prepositional objects (*hilft dem Mann, wartet auf den Bus*).

>>> from soups.data.synthetic.frames import NounPhrase
>>> join(noun_phrase(NounPhrase("lion", "indef", adj="big"), "acc", "O"))
'einen großen Löwen'
"""

from __future__ import annotations

from dataclasses import dataclass

from . import lexicon as lx
from .frames import NounPhrase
from .numbers import number_words
from .surface import Chunk, join  # join: used by the doctest

_SLOT = {"m": 0, "f": 1, "n": 2}  # plural is slot 3
_DEF = {"nom": ("der", "die", "das", "die"), "acc": ("den", "die", "das", "die"), "dat": ("dem", "der", "dem", "den")}
_EIN = {"nom": ("ein", "eine", "ein", "keine"), "acc": ("einen", "eine", "ein", "keine"),
        "dat": ("einem", "einer", "einem", "keinen")}  # plural slot only ever used as "kein-"
_WEAK = {"nom": ("e", "e", "e", "en"), "acc": ("en", "e", "e", "en"), "dat": ("en", "en", "en", "en")}
_MIXED = {"nom": ("er", "e", "es", "en"), "acc": ("en", "e", "es", "en"), "dat": ("en", "en", "en", "en")}
_STRONG = {"nom": ("er", "e", "es", "e"), "acc": ("en", "e", "es", "e"), "dat": ("em", "er", "em", "en")}
_CONTRACTIONS = {("in", "dem"): "im", ("an", "dem"): "am", ("in", "das"): "ins", ("an", "das"): "ans",
                 ("zu", "dem"): "zum", ("zu", "der"): "zur"}


@dataclass(frozen=True)
class Noun:
    sg: str
    pl: str
    gender: str
    weak: bool = False  # n-declension: der Junge, den Jungen
    prep: str = ""  # places: two-way preposition (in, an, auf)
    goal: str = ""  # places: preposition of a goal when not the same (zu)


@dataclass(frozen=True)
class Verb:
    inf: str  # full infinitive, particle included: anschauen
    s3: str  # finite 3rd singular without particle: schaut
    p3: str  # finite 3rd plural without particle: schauen
    particle: str  # separable particle: an ("spazieren" in "spazieren gehen")
    pp: str  # past participle: angeschaut
    sein: bool  # perfect with sein
    refl: bool  # sich verstecken
    case: str  # case of the object: acc | dat
    prep: str  # preposition before the object: auf (warten auf), mit, an

    def joined(self, finite: str) -> str:
        """Particle and finite verb at the end of a subordinate clause: anschaut, spazieren geht."""
        if not self.particle:
            return finite
        return self.particle + (" " if " " in self.inf else "") + finite


def _noun(spec: str) -> Noun:
    fields = spec.split("|") + ["", ""]
    return Noun(fields[0], fields[2] or fields[0], fields[1], fields[3] == "w")


def _place(spec: str) -> Noun:
    fields = spec.split("|")
    return Noun(fields[0], fields[0], fields[1], prep=fields[2], goal=fields[3] if len(fields) > 3 else fields[2])


def _verb(spec: str) -> Verb:
    inf, s3, pp, *flags = spec.split("|")
    refl = inf.startswith("sich ")
    inf = inf[5:] if refl else inf
    finite, _, particle = s3.partition(" ")
    core = inf[len(particle):].lstrip() if particle else inf
    case, prep = "acc", ""
    for flag in flags:
        if "+" in flag:
            prep, case = flag.split("+")
    return Verb(inf, finite, core, particle, pp, "sein" in flags, refl, case, prep)


def _verbs(spec: str) -> tuple[Verb, Verb]:
    """(form with people, form with animals): essen/fressen; most verbs have one form for both."""
    human, _, animal = spec.partition("/")
    v = _verb(human)
    return v, _verb(animal) if animal else v


NOUNS = {e.id: _noun(e.spec("de")) for e in lx.NOUNS.values()}
PLACES = {e.id: _place(e.spec("de")) for e in lx.PLACES.values()}
VERBS = {e.id: _verbs(e.spec("de")) for e in lx.VERBS.values()}
ADJECTIVES = {e.id: e.spec("de").split("|") for e in lx.ADJECTIVES.values()}


def verb(verb_id: str, subject_noun: str) -> Verb:
    human, animal = VERBS[verb_id]
    return animal if "animal" in lx.NOUNS[subject_noun].tags else human


def predicative(adj_id: str) -> str:
    return ADJECTIVES[adj_id][0]


def _attributive(adj_id: str, ending: str) -> str:
    word, *stem = ADJECTIVES[adj_id]
    if stem and stem[0] == "=":
        return word  # undeclinable colour words: der lila Ball
    base = stem[0] if stem else word  # teuer -> die teure Uhr
    return base + (ending[1:] if base.endswith("e") and ending.startswith("e") else ending)  # müde -> müden


def _noun_form(noun: Noun, case: str, plural: bool) -> str:
    if plural:
        return noun.pl + ("n" if case == "dat" and not noun.pl.endswith(("n", "s")) else "")
    return noun.pl if noun.weak and case != "nom" else noun.sg


def noun_phrase(np: NounPhrase, case: str, role: str, negative: bool = False, table: dict | None = None,
                ) -> list[Chunk]:
    """A noun phrase in ``case``; ``negative`` turns an indefinite or partitive into *kein*."""
    noun = (table or NOUNS)[np.noun]
    plural = np.number > 1
    slot = 3 if plural else _SLOT[noun.gender]
    if negative and np.det in ("indef", "part"):
        det, endings = "k" + _EIN[case][slot] if not plural else _EIN[case][3], _MIXED
    elif np.det == "def":
        det, endings = _DEF[case][slot], _WEAK
    elif np.det == "indef":
        det, endings = _EIN[case][slot], _MIXED
    elif np.det == "num":
        det, endings = number_words(np.number, "de"), _STRONG
    else:  # partitive: bare noun, strong adjective (kalte Milch)
        det, endings = "", _STRONG
    adj = _attributive(np.adj, endings[case][slot]) if np.adj else ""
    return [(role + ".det", det), (role + ".adj", adj), (role, _noun_form(noun, case, plural))]


def prepositional(prep: str, np: NounPhrase, case: str, role: str, table: dict | None = None) -> list[Chunk]:
    """Preposition + noun phrase, contracting *in dem → im*, *zu der → zur*."""
    chunks = noun_phrase(np, case, role, table=table)
    det = chunks[0][1]
    if (prep, det) in _CONTRACTIONS:
        return [(role + ".prep", _CONTRACTIONS[(prep, det)])] + chunks[1:]
    return [(role + ".prep", prep)] + chunks


def place_phrase(np: NounPhrase, goal: bool) -> list[Chunk]:
    place = PLACES[np.noun]
    if not goal:
        return prepositional(place.prep, np, "dat", "P", PLACES)
    case = "dat" if place.goal == "zu" else "acc"  # zu always takes the dative
    return prepositional(place.goal, np, case, "P", PLACES)
