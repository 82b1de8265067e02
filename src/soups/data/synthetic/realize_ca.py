"""Catalan realizer: agreement, *dues*, *l'* and *al/del*, periphrastic past, *ser/estar*.

* Adjectives follow the noun and agree (*vermell, vermella, vermells, vermelles*; *groga, grogues* with
  the spelling changes of the feminine plural); numbers agree in 1 and 2 (*una, dues, vint-i-una,
  trenta-dues*).
* Articles elide before a vowel or *h* (*l'home, l'escola*), except *la* before an unstressed *i/u*
  (*la infermera*); *a/de* + *el/els* contract (*al parc, dels gats, a prop del riu*).
* Past: *va/van* + infinitive (*el gos va veure el gat*); future: synthetic (*veurà, veuran*); the
  reflexive *es/s'* goes before the finite verb (*s'amaga, es va amagar*); *no* before everything.
  No personal *a* before direct objects (standard Catalan: *veu la dona*).
* Questions keep statement order and end in "?" (Catalan does not use an opening "¿").

>>> from soups.data.synthetic.frames import Clause, Frame, NounPhrase
>>> realize(Frame(Clause(NounPhrase("man"), "see", NounPhrase("cow", "num", 22), tense="past")))
"L'home va veure vint-i-dues vaques."
"""

from __future__ import annotations

from dataclasses import dataclass

from . import lexicon as lx
from . import romance
from .frames import Clause, Frame, NounPhrase, is_frequency, place_is_goal
from .numbers import number_words
from .surface import Chunk, finish, join, prefixed

_VOWELS = "aeiouàèéíòóúïüh"
_STRESSED_IU = ("illa", "ungla", "hora")  # feminine words whose initial i/u is stressed: l'illa
_ELIDABLE = {"el": "l'", "la": "l'", "de": "d'", "es": "s'"}
_CONTRACTIONS = {("a", "el"): "al", ("a", "els"): "als", ("de", "el"): "del", ("de", "els"): "dels"}
_SER = {"pres": ("és", "són"), "past": ("era", "eren"), "fut": ("serà", "seran")}
_ESTAR = {"pres": ("està", "estan"), "past": ("estava", "estaven"), "fut": ("estarà", "estaran")}
# Spelling changes before -e(s): vaca -> vaques, groga -> grogues, taronja -> taronges, busca -> busquen
_SOFTEN = (("gu", "gü"), ("qu", "qü"), ("c", "qu"), ("g", "gu"), ("ç", "c"), ("j", "g"))


def _soften(stem: str) -> str:
    for old, new in _SOFTEN:
        if stem.endswith(old):
            return stem[: -len(old)] + new
    return stem


def _plural(sg: str) -> str:
    return _soften(sg[:-1]) + "es" if sg.endswith("a") else sg + "s"


def _adjective_forms(ms: str) -> tuple[str, str, str]:
    return ms + "a", ms + "s", _plural(ms + "a")


def _vowel(word: str) -> bool:
    return word[0].lower() in _VOWELS


def _elides(article: str, word: str) -> bool:
    if not _vowel(word) or (article == "de" and word in ("el", "els")):
        return False  # de el -> del, contracted later, never d'el
    if article == "la" and word.lstrip("h")[:1] in ("i", "u") and not word.startswith(_STRESSED_IU):
        return False  # la infermera, la universitat
    return True


@dataclass(frozen=True)
class _Verb:
    inf: str
    s3: str
    p3: str
    fut: str  # future 3sg; the plural swaps -à for -an
    refl: bool  # amagar-se
    prep: str  # trucar a, parlar amb


def _parse_verb(spec: str) -> _Verb:
    fields = spec.split("|")
    words = fields[0].split()
    prep = words[1] if len(words) > 1 else ""
    inf = words[0]
    refl = inf.endswith("-se")
    inf = inf[:-3] if refl else inf
    if len(fields) > 1:
        return _Verb(inf, *fields[1:4], refl, prep)
    stem = inf[:-2]  # regular -ar verb
    return _Verb(inf, stem + "a", _soften(stem) + "en", inf + "à", refl, prep)


_NOUNS = {e.id: romance.parse_noun(e.spec("ca"), _plural) for e in lx.NOUNS.values()}
_PLACES = {e.id: romance.parse_place(e.spec("ca"), "a") for e in lx.PLACES.values()}
_ADJS = {e.id: romance.parse_adjective(e.spec("ca"), _adjective_forms) for e in lx.ADJECTIVES.values()}
_VERBS = {e.id: _parse_verb(e.spec("ca")) for e in lx.VERBS.values()}


def noun_phrase(np: NounPhrase, role: str, table: dict | None = None) -> list[Chunk]:
    noun = (table or _NOUNS)[np.noun]
    plural, gender = np.number > 1, noun.gender
    if np.det == "def":
        det = ("els" if plural else "el") if gender == "m" else ("les" if plural else "la")
    elif np.det == "indef":
        det = "un" if gender == "m" else "una"
    elif np.det == "num":
        det = number_words(np.number, "ca", gender)
    else:
        det = ""
    adj = _ADJS[np.adj] if np.adj else None
    return romance.noun_phrase(role, det, noun.pl if plural else noun.sg, adj, gender, plural, lambda w: False)


def _verb_group(c: Clause, plural: bool) -> list[Chunk]:
    """no, es, the finite verb and the infinitive of the past: no es va amagar."""
    i = int(plural)
    if c.state:
        table = _ESTAR if "s" in lx.ADJECTIVES[c.state].flags else _SER
        words, refl = [table[c.tense][i]], False
    else:
        v = _VERBS[c.verb]
        refl = v.refl
        if c.tense == "past":
            words = [("va", "van")[i], v.inf]
        elif c.tense == "fut":
            words = [v.fut[:-1] + "an" if plural else v.fut]
        else:
            words = [(v.s3, v.p3)[i]]
    out = [("NEG", "no")] if c.negated else []
    out += [("R", "es")] if refl else []
    return out + [("V", words[0])] + [("V2", w) for w in words[1:]]


def _clause(c: Clause, freq: str = "") -> list[Chunk]:
    out = noun_phrase(c.subject, "S") + [("T", freq)] + _verb_group(c, c.subject.number > 1)
    if c.state:
        return out + [("PRED", _ADJS[c.state].form(_NOUNS[c.subject.noun].gender, c.subject.number > 1))]
    if c.obj is None:
        return out
    return out + [("O.prep", _VERBS[c.verb].prep)] + noun_phrase(c.obj, "O")


def chunks(frame: Frame) -> list[Chunk]:
    time = lx.TIMES[frame.time].spec("ca") if frame.time else ""
    freq = time if is_frequency(frame.time) else ""
    out = [("T", time)] if frame.front_time else []
    out += _clause(frame.clause, freq)
    if frame.manner:
        out.append(("M", lx.ADVERBS[frame.manner].spec("ca")))
    if frame.place:
        place = _PLACES[frame.place.noun]
        out += [("P.prep", place.goal if place_is_goal(frame) else place.prep)]
        out += noun_phrase(frame.place, "P", table=_PLACES)
    if time and not frame.front_time and not freq:
        out.append(("T", time))
    if frame.because:
        out += [("C", "perquè")] + prefixed(_clause(frame.because), "B.")
    return out


def postprocess(text: str) -> str:
    tokens, out = text.split(), []
    for token in tokens:  # elision first (a el home -> a l'home), then contraction (a el parc -> al parc)
        if out and out[-1] in _ELIDABLE and _elides(out[-1], token):
            out[-1] = _ELIDABLE[out[-1]] + token
        else:
            out.append(token)
    return " ".join(romance.contract(out, _CONTRACTIONS))


def realize(frame: Frame) -> str:
    return finish(postprocess(join(chunks(frame))), "ca", frame.question)
