"""French realizer: agreement, adjective placement, *ne … pas*, elision and contractions.

* Adjectives follow the noun and agree (*un chat noir, des vaches noires*); a few precede it (*petit,
  grand, beau, vieux, jeune, joli, bon, gros, nouveau*), with *bel/vieil/nouvel* before a vowel.
* Passé composé with *avoir*, or *être* for movement and reflexive verbs, whose participle agrees with
  the subject (*elles sont arrivées*); near future *va/vont* + infinitive; *était* for past states.
* Negation *ne … pas* around the finite verb; a negated direct object loses its article: *pas de chat*.
* Questions: *Est-ce que …* or complex inversion (*Le chien voit-il le chat ?*, *mange-t-il*), chosen by
  ``frame.variant``; a space before "?" as French typography wants.
* A final token pass elides (*le arbre → l'arbre, que un → qu'un, ne a → n'a*) and contracts
  (*à le → au, de le → du, à les → aux*), which also yields the partitive *du lait, de l'eau*.

>>> from soups.data.synthetic.frames import Clause, Frame, NounPhrase
>>> realize(Frame(Clause(NounPhrase("boy", "def", 2), "go", tense="past"), place=NounPhrase("market")))
'Les garçons sont allés au marché.'
"""

from __future__ import annotations

from dataclasses import dataclass

from . import lexicon as lx
from . import romance
from .frames import Clause, Frame, NounPhrase, is_frequency, place_is_goal
from .numbers import number_words
from .surface import Chunk, finish, join, prefixed

_VOWELS = "aeiouyàâäéèêëîïôöûùüœæh"
_ASPIRATED_H = ("haricot", "hibou", "héros", "hamster", "hache", "hollandais")  # no elision: le hibou
_NO_ELISION = ("onze", "huit")  # le onze, que huit
_ELIDABLE = {"le": "l'", "la": "l'", "de": "d'", "ne": "n'", "que": "qu'", "se": "s'"}
_CONTRACTIONS = {("à", "le"): "au", ("à", "les"): "aux", ("de", "le"): "du", ("de", "les"): "des"}


def _vowel(word: str) -> bool:
    w = word.lower()
    return w[0] in _VOWELS and not w.startswith(_ASPIRATED_H) and w not in _NO_ELISION


def _plural(sg: str) -> str:
    if sg.endswith(("s", "x", "z")):
        return sg
    return sg + ("x" if sg.endswith(("eau", "au", "eu")) else "s")


def _adjective_forms(ms: str) -> tuple[str, str, str]:
    fs = ms if ms.endswith("e") else ms + "e"
    return fs, ms if ms.endswith(("s", "x")) else ms + "s", fs + "s"


@dataclass(frozen=True)
class _Verb:
    inf: str
    s3: str
    p3: str
    pp: str
    etre: bool  # passé composé with être (movement and reflexive verbs)
    refl: bool  # se cacher
    prep: str  # preposition before the object: parler à, jouer avec


def _parse_verb(spec: str) -> _Verb:
    fields = spec.split("|")
    etre = fields[-1] == "être"
    fields = fields[:-1] if etre else fields
    words = fields[0].split()
    refl = words[0] == "se"
    words = words[1:] if refl else words
    prep = words.pop() if len(words) > 1 and words[-1] in ("à", "avec", "de") else ""
    inf = " ".join(words)
    if len(fields) == 1:  # regular -er verb
        stem = inf[:-2]
        return _Verb(inf, stem + "e", stem + "ent", stem + "é", etre or refl, refl, prep)
    return _Verb(inf, fields[1], fields[2], fields[3], etre or refl, refl, prep)


_NOUNS = {e.id: romance.parse_noun(e.spec("fr"), _plural) for e in lx.NOUNS.values()}
_PLACES = {e.id: romance.parse_place(e.spec("fr"), "à") for e in lx.PLACES.values()}
_ADJS = {e.id: romance.parse_adjective(e.spec("fr"), _adjective_forms) for e in lx.ADJECTIVES.values()}
_VERBS = {e.id: _parse_verb(e.spec("fr")) for e in lx.VERBS.values()}
_ETRE = {"pres": ("est", "sont"), "past": ("était", "étaient"), "fut": ("va", "vont")}


def _determiner(np: NounPhrase, gender: str, plural: bool, negative: bool) -> str:
    if negative and np.det in ("indef", "part"):
        return "de"  # il ne voit pas de chat, il ne boit pas de lait
    if np.det == "def":
        return "les" if plural else ("le" if gender == "m" else "la")
    if np.det == "indef":
        return "un" if gender == "m" else "une"
    if np.det == "num":
        return number_words(np.number, "fr", gender)
    return "de le" if gender == "m" else "de la"  # partitive, contracted or elided later: du, de la, de l'


def noun_phrase(np: NounPhrase, role: str, negative: bool = False, table: dict | None = None) -> list[Chunk]:
    noun = (table or _NOUNS)[np.noun]
    plural = np.number > 1
    det = _determiner(np, noun.gender, plural, negative)
    adj = _ADJS[np.adj] if np.adj else None
    return romance.noun_phrase(role, det, noun.pl if plural else noun.sg, adj, noun.gender, plural, _vowel)


def _agree(participle: str, gender: str, plural: bool) -> str:
    return participle + ("e" if gender == "f" else "") + ("s" if plural and not participle.endswith("s") else "")


def _verb_group(c: Clause, gender: str, plural: bool) -> tuple[list[Chunk], str, list[Chunk]]:
    """Words before the finite verb (ne, se), the finite verb, and the words after it (pas, participle)."""
    i = int(plural)
    if c.state:
        finite, after, refl = _ETRE[c.tense][i], ["être"] if c.tense == "fut" else [], False
    else:
        v = _VERBS[c.verb]
        refl = v.refl
        if c.tense == "pres":
            finite, after = (v.p3 if plural else v.s3), []
        elif c.tense == "past":
            finite = (_ETRE["pres"] if v.etre else ("a", "ont"))[i]
            after = [_agree(v.pp, gender, plural) if v.etre else v.pp]
        else:
            finite, after = ("va", "vont")[i], [v.inf]
    before = [("R", "se")] if refl and c.tense != "fut" else []
    after_chunks = [("R", "se")] if refl and c.tense == "fut" else []  # il va se cacher
    after_chunks += [("V2", word) for word in after]
    if c.negated:
        before, after_chunks = [("NEG", "ne")] + before, [("NEG", "pas")] + after_chunks
    return before, finite, after_chunks


def _invert(finite: str, gender: str, plural: bool) -> str:
    pronoun = ("ils" if plural else "il") if gender == "m" else ("elles" if plural else "elle")
    return finite + ("-t" if finite[-1] in "ae" else "") + "-" + pronoun  # voit-il, mange-t-il, a-t-elle


def _clause(c: Clause, invert: bool = False, freq: str = "") -> list[Chunk]:
    gender, plural = _NOUNS[c.subject.noun].gender, c.subject.number > 1
    before, finite, after = _verb_group(c, gender, plural)
    finite = _invert(finite, gender, plural) if invert else finite
    out = noun_phrase(c.subject, "S") + before + [("V", finite), ("T", freq)] + after
    if c.state:
        return out + [("PRED", _ADJS[c.state].form(gender, plural))]
    if c.obj is None:
        return out
    prep = _VERBS[c.verb].prep
    if prep:  # indirect objects keep their article under negation: il ne parle pas à un homme
        return out + [("O.prep", prep)] + noun_phrase(c.obj, "O")
    return out + noun_phrase(c.obj, "O", negative=c.negated)


def _place(frame: Frame) -> list[Chunk]:
    place = _PLACES[frame.place.noun]
    prep = place.goal if place_is_goal(frame) else place.prep
    return [("P.prep", prep)] + noun_phrase(frame.place, "P", table=_PLACES)


def chunks(frame: Frame) -> list[Chunk]:
    time = lx.TIMES[frame.time].spec("fr") if frame.time else ""
    freq = time if is_frequency(frame.time) else ""
    invert = frame.question and frame.variant % 2 == 1
    out = [("Q", "est-ce que")] if frame.question and not invert else []
    if frame.front_time:
        out.append(("T", time + ","))
    out += _clause(frame.clause, invert, freq)
    if frame.manner:
        out.append(("M", lx.ADVERBS[frame.manner].spec("fr")))
    if frame.place:
        out += _place(frame)
    if time and not frame.front_time and not freq:
        out.append(("T", time))
    if frame.because:
        out += [("C", "parce que")] + prefixed(_clause(frame.because), "B.")
    return out


def postprocess(text: str) -> str:
    tokens = romance.elide(text.split(), _ELIDABLE, _vowel)
    return " ".join(romance.contract(tokens, _CONTRACTIONS))


def realize(frame: Frame) -> str:
    return finish(postprocess(join(chunks(frame))), "fr", frame.question)
