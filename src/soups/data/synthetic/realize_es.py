"""Spanish realizer: agreement, personal *a*, *al/del*, *ser/estar*, inverted questions with *¿…?*.

* Adjectives follow the noun and agree (*la casa roja, los gatos rojos*); numbers ending in *uno* agree
  too (*veintiún gatos, veintiuna vacas*); feminine nouns with stressed *a-* take *el/un* (*el agua*).
* Human direct objects take the personal *a* (*ve a la mujer*, *ve al hombre*), contracted by the final
  token pass with *de* as well (*cerca del río*).
* Preterite for the past, *va a* + infinitive for the future, *se* before the finite verb (*se esconde,
  se va a esconder*), *no* before everything.
* States use *estar* (*está cansado*), properties *ser* (*es grande*), chosen by the adjective's flag.
* Questions are written *¿…?*, in statement order or with the verb first (*¿Ve el perro al gato?*,
  *¿Está cansado el gato?*), chosen by ``frame.variant``.

>>> from soups.data.synthetic.frames import Clause, Frame, NounPhrase
>>> realize(Frame(Clause(NounPhrase("dog"), "see", NounPhrase("man")), question=True, variant=1))
'¿Ve el perro al hombre?'
"""

from __future__ import annotations

from dataclasses import dataclass

from . import lexicon as lx
from . import romance
from .frames import Clause, Frame, NounPhrase, is_frequency, place_is_goal
from .numbers import number_words
from .surface import Chunk, finish, join, prefixed

_CONTRACTIONS = {("a", "el"): "al", ("de", "el"): "del"}
_SER = {"pres": ("es", "son"), "past": ("era", "eran"), "fut": ("ser",)}
_ESTAR = {"pres": ("está", "están"), "past": ("estaba", "estaban"), "fut": ("estar",)}


def _plural(sg: str) -> str:
    if sg[-1] in "aeiouáéó":
        return sg + "s"
    return sg[:-1] + "ces" if sg.endswith("z") else sg + "es"


def _adjective_forms(ms: str) -> tuple[str, str, str]:
    if ms.endswith("o"):
        return ms[:-1] + "a", ms + "s", ms[:-1] + "as"
    plural = _plural(ms)
    return ms, plural, plural  # verde, verdes; azul, azules: one form for both genders


@dataclass(frozen=True)
class _Verb:
    inf: str
    s3: str
    p3: str
    past_s3: str  # preterite
    past_p3: str
    refl: bool  # esconderse
    prep: str  # hablar con, jugar con


def _parse_verb(spec: str) -> _Verb:
    fields = spec.split("|")
    words = fields[0].split()
    prep = words[1] if len(words) > 1 else ""
    inf = words[0]
    refl = inf.endswith("se")
    inf = inf[:-2] if refl else inf
    if len(fields) > 1:
        return _Verb(inf, *fields[1:5], refl, prep)
    stem = inf[:-2]
    if inf.endswith("ar"):
        return _Verb(inf, stem + "a", stem + "an", stem + "ó", stem + "aron", refl, prep)
    return _Verb(inf, stem + "e", stem + "en", stem + "ió", stem + "ieron", refl, prep)


_NOUNS = {e.id: romance.parse_noun(e.spec("es"), _plural) for e in lx.NOUNS.values()}
_PLACES = {e.id: romance.parse_place(e.spec("es"), "a") for e in lx.PLACES.values()}
_ADJS = {e.id: romance.parse_adjective(e.spec("es"), _adjective_forms) for e in lx.ADJECTIVES.values()}
_VERBS = {e.id: _parse_verb(e.spec("es")) for e in lx.VERBS.values()}


def noun_phrase(np: NounPhrase, role: str, table: dict | None = None) -> list[Chunk]:
    noun = (table or _NOUNS)[np.noun]
    plural, gender = np.number > 1, noun.gender
    stressed_a = noun.flag == "a" and not plural  # el agua, un agua; las aguas
    if np.det == "def":
        det = "los" if plural and gender == "m" else "las" if plural else "el" if gender == "m" or stressed_a else "la"
    elif np.det == "indef":
        det = "un" if gender == "m" or stressed_a else "una"
    elif np.det == "num":
        det = number_words(np.number, "es", gender)
    else:
        det = ""
    adj = _ADJS[np.adj] if np.adj else None
    return romance.noun_phrase(role, det, noun.pl if plural else noun.sg, adj, gender, plural, lambda w: False)


def _verb_group(c: Clause, plural: bool) -> list[Chunk]:
    """no, se, the finite verb and the rest of the verb: no se va a esconder."""
    i = int(plural)
    if c.state:
        table = _ESTAR if "s" in lx.ADJECTIVES[c.state].flags else _SER
        words = ["va" if i == 0 else "van", "a", table["fut"][0]] if c.tense == "fut" else [table[c.tense][i]]
        refl = False
    else:
        v = _VERBS[c.verb]
        refl = v.refl
        if c.tense == "fut":
            words = [("va", "van")[i], "a", v.inf]
        else:
            words = [((v.s3, v.p3), (v.past_s3, v.past_p3))[c.tense == "past"][i]]
    out = [("NEG", "no")] if c.negated else []
    out += [("R", "se")] if refl else []
    return out + [("V", words[0])] + [("V2", w) for w in words[1:]]


def _complement(c: Clause) -> list[Chunk]:
    if c.state:
        return [("PRED", _ADJS[c.state].form(_NOUNS[c.subject.noun].gender, c.subject.number > 1))]
    if c.obj is None:
        return []
    prep = _VERBS[c.verb].prep
    if not prep and "person" in lx.NOUNS[c.obj.noun].tags:
        prep = "a"  # personal a before human direct objects
    return [("O.prep", prep)] + noun_phrase(c.obj, "O")


def _clause(c: Clause, freq: str = "", invert: bool = False) -> list[Chunk]:
    subject, verb, rest = noun_phrase(c.subject, "S"), _verb_group(c, c.subject.number > 1), _complement(c)
    if invert and c.state:
        return verb + rest + subject  # ¿Está cansado el gato?
    if invert:
        return verb + subject + rest  # ¿Ve el perro al gato?
    return subject + [("T", freq)] + verb + rest


def chunks(frame: Frame) -> list[Chunk]:
    time = lx.TIMES[frame.time].spec("es") if frame.time else ""
    freq = time if is_frequency(frame.time) else ""
    invert = frame.question and frame.variant % 2 == 1 and frame.clause.tense != "fut" and not freq
    out = [("T", time)] if frame.front_time else []
    out += _clause(frame.clause, freq, invert)
    if frame.manner:
        out.append(("M", lx.ADVERBS[frame.manner].spec("es")))
    if frame.place:
        place = _PLACES[frame.place.noun]
        out += [("P.prep", place.goal if place_is_goal(frame) else place.prep)]
        out += noun_phrase(frame.place, "P", table=_PLACES)
    if time and not frame.front_time and not freq:
        out.append(("T", time))
    if frame.because:
        out += [("C", "porque")] + prefixed(_clause(frame.because), "B.")
    return out


def realize(frame: Frame) -> str:
    tokens = romance.contract(join(chunks(frame)).split(), _CONTRACTIONS)
    return finish(" ".join(tokens), "es", frame.question)
