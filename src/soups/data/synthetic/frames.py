"""Language-neutral meaning frames and their random sampler.

A ``Frame`` says *who does what to what, how many, which, where, when*, whether it is a question or a
negation, and whether a *because* clause follows; it names lexicon entries by id and never holds a
word of any language. The realizers (``realize_<lang>``) turn one frame into one sentence per language,
so a pair of sentences is the same frame realized twice.

Example: ``Frame(Clause(NounPhrase("dog"), "see", obj=NounPhrase("cat", "num", 3)), place=NounPhrase("park"),
time="yesterday", front_time=True)`` is *Yesterday the dog saw three cats in the park*,
*Gestern hat der Hund im Park drei Katzen gesehen*, 昨天狗在公园里看见了三只猫.

Sampling weights each category by frequency rank (``1 / (1 + rank / 30)``): common words and simple
frames come often, and every entry keeps a share large enough to be seen in a few thousand sentences.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import random
from dataclasses import dataclass, replace

from . import lexicon as lx


@dataclass(frozen=True)
class NounPhrase:
    noun: str  # noun id (or place id for a place)
    det: str = "def"  # def | indef | num (a cardinal) | part (partitive, mass nouns: "some milk")
    number: int = 1  # 1 = singular, > 1 = plural; with det "num" it is the cardinal itself
    adj: str | None = None  # adjective id


@dataclass(frozen=True)
class Clause:
    subject: NounPhrase
    verb: str | None = None  # verb id of an action clause
    obj: NounPhrase | None = None
    state: str | None = None  # adjective id of a state clause: "The cat is tired."
    tense: str = "pres"  # pres | past | fut
    negated: bool = False


@dataclass(frozen=True)
class Frame:
    clause: Clause
    place: NounPhrase | None = None  # a location, or the goal of a motion verb ("goes to the park")
    time: str | None = None  # time id (a frequency adverb when its flags say "f")
    manner: str | None = None  # adverb id
    question: bool = False  # yes/no question
    front_time: bool = False  # the time adverbial opens the sentence ("Today the dog ...")
    because: Clause | None = None  # "..., because <clause>"
    variant: int = 0  # picks among equivalent surface forms (e.g. French question with or without inversion)


def place_is_goal(frame: Frame) -> bool:
    verb = frame.clause.verb
    return verb is not None and "g" in lx.VERBS[verb].flags


def is_frequency(time_id: str | None) -> bool:
    return time_id is not None and "f" in lx.TIMES[time_id].flags


_FLATNESS = 30.0  # rank at which an entry's weight is halved


class _Pool:
    """Entries with rank-based weights, drawn with one ``rng.random()`` each."""

    def __init__(self, entries):
        self.items = tuple(entries)
        total, cum = 0.0, []
        for entry in self.items:
            total += 1.0 / (1.0 + entry.rank / _FLATNESS)
            cum.append(total)
        self.cum = cum

    def pick(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.cum[-1])]


_POOLS: dict[tuple, _Pool | None] = {}
_FRACTION = [1.0]  # share of each category's entries in use (most common first); see ``lexicon_fraction``


@contextlib.contextmanager
def lexicon_fraction(fraction: float):
    """Sample from the most common ``fraction`` of each word category (and numbers up to ten) — a smaller,
    easier corpus for quick studies. A restricted choice that would be empty (no kept adjective fits the
    noun) falls back to the two most common entries that fit, so every frame stays well-formed and the
    lexicon stays small. ``1.0`` is the full lexicon."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"lexicon fraction must be in (0, 1], got {fraction}")
    before, _FRACTION[0] = _FRACTION[0], fraction
    try:
        yield
    finally:
        _FRACTION[0] = before


def _kept(entries: list, kind: str) -> list:
    """The entries in use: those ranked within the kept share of their category."""
    if _FRACTION[0] >= 1.0:
        return entries
    limit = max(1, math.ceil(_FRACTION[0] * len(lx.TABLES[kind])))
    kept = [e for e in entries if e.rank < limit]
    return kept or sorted(entries, key=lambda e: e.rank)[:2]


def _pool(kind: str, tags: frozenset[str] = frozenset()) -> _Pool | None:
    """Entries of one kind whose tags meet ``tags`` (all of them when ``tags`` is empty); None if none."""
    key = (kind, tags, _FRACTION[0])
    if key not in _POOLS:
        entries = _kept([e for e in lx.TABLES[kind].values() if not tags or e.tags & tags], kind)
        _POOLS[key] = _Pool(entries) if entries else None
    return _POOLS[key]


def _count(rng: random.Random) -> int:
    if _FRACTION[0] < 1.0:
        return rng.randint(2, 10)
    return rng.randint(2, 10) if rng.random() < 0.6 else rng.randint(11, 99)


def _pick_noun(rng, tags, avoid=None):
    pool = _pool("noun", tags)
    noun = pool.pick(rng)
    for _ in range(5):  # "the dog sees the dog" is rarely wanted
        if noun.id != avoid:
            break
        noun = pool.pick(rng)
    return noun


def _noun_phrase(rng, noun, adj_p=0.25, subject=False) -> NounPhrase:
    """Determiner, number and adjective for ``noun``; subjects are not partitive."""
    r = rng.random()
    if "mass" in noun.tags:
        det, number = ("def", 1) if r < 0.5 or subject else ("part", 1)
    elif "drink" in noun.tags:  # countable drinks: a coffee, three coffees, coffee; not "the coffees"
        det, number = ("def", 1) if r < 0.35 else ("indef", 1) if r < 0.6 else ("part", 1) if r < 0.85 else (
            "num", _count(rng))
    elif r < 0.45:
        det, number = "def", 1
    elif r < 0.62:
        det, number = "def", 2
    elif r < (0.75 if subject else 0.85):
        det, number = "indef", 1
    else:
        det, number = "num", _count(rng)
    adj = None
    adjs = _pool("adj", noun.tags)
    if adjs is not None and rng.random() < adj_p:
        adj = adjs.pick(rng).id
    return NounPhrase(noun.id, det, number, adj)


def _verbs_taking(noun) -> _Pool:
    key = ("verbs-for", noun.id, _FRACTION[0])
    if key not in _POOLS:
        _POOLS[key] = _Pool(_kept([v for v in lx.VERBS.values() if v.obj & noun.tags], "verb"))
    return _POOLS[key]


def _objects() -> _Pool:
    key = ("objects", _FRACTION[0])
    if key not in _POOLS:
        verbs = _kept(list(lx.VERBS.values()), "verb")
        _POOLS[key] = _Pool(_kept([n for n in lx.NOUNS.values() if any(v.obj & n.tags for v in verbs)], "noun"))
    return _POOLS[key]


def _action(rng, tense, negated, simple=False) -> Clause:
    """The object is drawn first 60% of the time, then a verb that takes it: narrow object classes
    (butter is only bought, sold or brought) then get their share, independent of their verbs'."""
    obj_noun = None
    if not simple and rng.random() < 0.6:
        obj_noun = _objects().pick(rng)
        verb = _verbs_taking(obj_noun).pick(rng)
    else:
        verb = _pool("verb").pick(rng)
        while simple and "g" in verb.flags:
            verb = _pool("verb").pick(rng)
    adj_p = 0.0 if simple else 0.25
    subject = _noun_phrase(rng, _pick_noun(rng, verb.tags), adj_p, subject=True)
    obj = None
    if verb.obj:
        obj_noun = obj_noun or _pick_noun(rng, verb.obj, avoid=subject.noun)
        obj = _noun_phrase(rng, obj_noun, adj_p)
    if simple:
        subject = replace(subject, det="def")
        obj = obj and replace(obj, det="def", number=min(obj.number, 2))
    if negated and obj is not None and obj.det == "num":
        obj = replace(obj, det="def")  # "does not see three cats" reads oddly in every language
    return Clause(subject, verb.id, obj, tense=tense, negated=negated)


def _state(rng, tense, negated, simple=False) -> Clause:
    """The adjective is drawn first, then a noun it can describe: "The cup is empty"."""
    state = _pool("adj").pick(rng)
    subject = _noun_phrase(rng, _pick_noun(rng, state.tags - {"place"}), 0.0 if simple else 0.1, subject=True)
    if subject.det in ("indef", "part") or simple:
        subject = replace(subject, det="def", number=min(subject.number, 2))
    if subject.adj == state.id:
        subject = replace(subject, adj=None)
    return Clause(subject, state=state.id, tense=tense, negated=negated)


def _clause(rng, tense, negated, simple=False) -> Clause:
    if rng.random() < 0.18:
        return _state(rng, tense, negated, simple)
    return _action(rng, tense, negated, simple)


def _place(rng, goal: bool) -> NounPhrase | None:
    if not goal and rng.random() >= 0.3:
        return None
    place = _pool("place").pick(rng)
    adj = _pool("adj", frozenset({"place"})).pick(rng).id if rng.random() < 0.12 else None
    return NounPhrase(place.id, "def", 1, adj)


def sample_frame(rng: random.Random) -> Frame:
    """Draw one frame; all randomness comes from ``rng``, so equal seeds give equal frames."""
    time = _pool("time").pick(rng) if rng.random() < 0.4 else None
    if time is not None:
        tense = rng.choice(time.tenses)
    else:
        tense = rng.choices(("pres", "past", "fut"), cum_weights=(0.5, 0.8, 1.0))[0]
    question = rng.random() < 0.2
    negated = not question and not is_frequency(time and time.id) and rng.random() < 0.22
    clause = _clause(rng, tense, negated)
    if clause.state:  # "The dog is happy in the park", but not "The table is red in the park"
        place = _place(rng, False) if "s" in lx.ADJECTIVES[clause.state].flags and rng.random() < 0.5 else None
    else:
        place = _place(rng, "g" in lx.VERBS[clause.verb].flags)
    manner = None
    if clause.verb and "m" in lx.VERBS[clause.verb].flags and not negated and rng.random() < 0.2:
        manner = _pool("adverb").pick(rng).id
    because = None
    if not question and (time is None or place is None) and rng.random() < 0.15:
        because = _clause(rng, "pres" if tense == "fut" else tense, rng.random() < 0.15, simple=True)
    front = time is not None and not question and not is_frequency(time.id) and rng.random() < 0.5
    return Frame(clause, place, time and time.id, manner, question, front, because, rng.randrange(6))
