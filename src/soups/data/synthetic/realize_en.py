"""English realizer: SVO, do-support in questions and negations, *a/an* chosen by the next word's sound.

Order: [fronted time] subject [aux] [not] [frequency adverb] verb [particle] object [manner] [place]
[time] [because-clause]. Questions invert the auxiliary (*Does the dog see the cat?*, *Will the cat be
tired?*). Irregular plurals and past tenses come from the lexicon; the rest by rule.

>>> from soups.data.synthetic.frames import Clause, Frame, NounPhrase
>>> realize(Frame(Clause(NounPhrase("dog"), "see", NounPhrase("elephant", "indef"), tense="past"),
...               time="yesterday", front_time=True))
'Yesterday the dog saw an elephant.'
"""

from __future__ import annotations

from dataclasses import dataclass

from . import lexicon as lx
from .frames import Clause, Frame, NounPhrase, is_frequency, place_is_goal
from .numbers import number_words
from .surface import Chunk, finish, join, prefixed

# Words spelled with a vowel but sounding with a consonant (a one-way street), and the reverse (an hour).
_A_BEFORE = ("one", "uni", "use", "euro")
_AN_BEFORE = ("hour", "honest", "heir")


def _plural(sg: str) -> str:
    if sg.endswith(("s", "x", "z", "ch", "sh")):
        return sg + "es"
    if sg.endswith("y") and sg[-2:-1] not in tuple("aeiou"):
        return sg[:-1] + "ies"
    return sg + "s"


def _third_person(verb: str) -> str:
    if verb == "have":
        return "has"
    if verb.endswith(("s", "x", "z", "ch", "sh", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in tuple("aeiou"):
        return verb[:-1] + "ies"
    return verb + "s"


def _article(word: str) -> str:
    w = word.lower()
    if w.startswith(_AN_BEFORE):
        return "an"
    return "an" if w[0] in "aeiou" and not w.startswith(_A_BEFORE) else "a"


@dataclass(frozen=True)
class _Verb:
    base: str  # the verb itself, without particle
    third: str  # 3rd person singular present
    past: str
    particle: str  # "at" in "look at", "up" in "wake up"


def _parse_verb(spec: str) -> _Verb:
    words, past = spec.split("|")
    base, _, particle = words.partition(" ")
    return _Verb(base, _third_person(base), past, particle)


def _parse_noun(spec: str) -> tuple[str, str]:
    sg, _, pl = spec.partition("|")
    return sg, pl or _plural(sg)


_NOUNS = {e.id: _parse_noun(e.spec("en")) for e in lx.NOUNS.values()}
_PLACES = {e.id: tuple(e.spec("en").split("|")) for e in lx.PLACES.values()}
_VERBS = {e.id: _parse_verb(e.spec("en")) for e in lx.VERBS.values()}
_DO = {("pres", True): "does", ("pres", False): "do", ("past", True): "did", ("past", False): "did"}
_BE = {("pres", True): "is", ("pres", False): "are", ("past", True): "was", ("past", False): "were"}


def noun_phrase(np: NounPhrase, role: str, table: dict | None = None) -> list[Chunk]:
    sg, pl = _NOUNS[np.noun] if table is None else (table[np.noun][0],) * 2
    head = pl if np.number > 1 else sg
    adj = lx.ADJECTIVES[np.adj].spec("en") if np.adj else ""
    if np.det == "num":
        det = number_words(np.number, "en")
    else:
        det = {"def": "the", "indef": _article(adj or head), "part": ""}[np.det]
    return [(role + ".det", det), (role + ".adj", adj), (role, head)]


def _place(frame: Frame) -> list[Chunk]:
    prep = "to" if place_is_goal(frame) else _PLACES[frame.place.noun][1]
    return [("P.prep", prep)] + noun_phrase(frame.place, "P", table=_PLACES)


def _clause(c: Clause, question: bool, freq: str) -> list[Chunk]:
    subject = noun_phrase(c.subject, "S")
    sg = c.subject.number == 1
    if c.state:  # be + adjective
        aux = "will" if c.tense == "fut" else _BE[(c.tense, sg)]
        verb = [("V2", "be")] if c.tense == "fut" else []
        rest = [("PRED", lx.ADJECTIVES[c.state].spec("en"))]
    else:
        v = _VERBS[c.verb]
        if c.tense == "fut":
            aux, main = "will", v.base
        elif question or c.negated:
            aux, main = _DO[(c.tense, sg)], v.base
        else:
            aux, main = "", v.past if c.tense == "past" else (v.third if sg else v.base)
        verb = [("V2" if aux else "V", main), ("V.prt", v.particle)]
        rest = noun_phrase(c.obj, "O") if c.obj else []
    middle = [("NEG", "not" if c.negated else ""), ("T", freq)] + verb + rest
    if question:
        return [("V", aux)] + subject + middle
    return subject + [("V", aux)] + middle


def chunks(frame: Frame) -> list[Chunk]:
    time = lx.TIMES[frame.time].spec("en") if frame.time else ""
    freq = time if is_frequency(frame.time) else ""
    out = [("T", time)] if frame.front_time else []
    out += _clause(frame.clause, frame.question, freq)
    if frame.manner:
        out.append(("M", lx.ADVERBS[frame.manner].spec("en")))
    if frame.place:
        out += _place(frame)
    if time and not frame.front_time and not freq:
        out.append(("T", time))
    if frame.because:
        out += [("C", "because")] + prefixed(_clause(frame.because, False, ""), "B.")
    return out


def realize(frame: Frame) -> str:
    return finish(join(chunks(frame)), "en", frame.question)
