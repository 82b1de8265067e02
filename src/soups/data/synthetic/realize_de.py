"""German realizer: verb-second, verb-final subordinate clauses, the verbal bracket, *nicht / kein*.

A clause is laid out in the classic topological fields:
``[Vorfeld] finite-verb [sich] [subject] Mittelfeld right-bracket``. The Vorfeld holds the subject or a
fronted time adverbial (*Heute sieht der Hund die Katze*, verb second); questions leave it empty
(*Sieht der Hund die Katze?*); after *weil* the finite verb goes last (*…, weil die Katze den Ball sucht*).
The right bracket holds the separable particle, the participle or the infinitive (*Der Hund hat die
Katze gesehen*, *Der Hund schaut die Katze an*, *Der Hund wird schlafen*).
In the Mittelfeld: time, definite objects, *nicht*, manner, place, prepositional and indefinite objects,
predicate adjective. A negated indefinite or partitive object takes *kein* instead of *nicht*.

>>> from soups.data.synthetic.frames import Clause, Frame, NounPhrase
>>> realize(Frame(Clause(NounPhrase("dog"), "see", NounPhrase("cat")), time="today", front_time=True,
...               because=Clause(NounPhrase("cat"), "look for", NounPhrase("ball"))))
'Heute sieht der Hund die Katze, weil die Katze den Ball sucht.'
"""

from __future__ import annotations

from dataclasses import dataclass

from . import german as de
from . import lexicon as lx
from .frames import Clause, Frame, place_is_goal
from .surface import Chunk, finish, join, prefixed

_SEIN = {"pres": ("ist", "sind"), "past": ("war", "waren"), "fut": ("wird", "werden")}
_HABEN = ("hat", "haben")
_WERDEN = ("wird", "werden")


@dataclass
class _Fields:
    subject: list[Chunk]
    finite: str
    refl: bool
    early: list[Chunk]  # Mittelfeld before "nicht": time, definite objects
    late: list[Chunk]  # Mittelfeld after "nicht": manner, place, other objects, predicate
    right: list[Chunk]  # right bracket: particle, participle, infinitive
    negation: list[Chunk]
    verb: de.Verb | None = None


def _verb_form(c: Clause, v: de.Verb | None, plural: bool) -> tuple[str, list[Chunk]]:
    """The finite verb and the right bracket."""
    i = int(plural)
    if v is None:  # state: sein + adjective
        return _SEIN[c.tense][i], [("V2", "sein")] if c.tense == "fut" else []
    if c.tense == "pres":
        return (v.p3 if plural else v.s3), [("V.prt", v.particle)] if v.particle else []
    if c.tense == "past":
        return (_SEIN["pres"] if v.sein else _HABEN)[i], [("V2", v.pp)]
    return _WERDEN[i], [("V2", v.inf)]


def _fields(c: Clause, time: str = "", manner: str = "", place: list[Chunk] | None = None) -> _Fields:
    v = de.verb(c.verb, c.subject.noun) if c.verb else None
    finite, right = _verb_form(c, v, c.subject.number > 1)
    early: list[Chunk] = [("T", time)] if time else []
    late: list[Chunk] = [("M", manner)] if manner else []
    late += place or []
    kein = False
    if c.obj is not None and v.prep:
        late += de.prepositional(v.prep, c.obj, v.case, "O")
    elif c.obj is not None:
        kein = c.negated and c.obj.det in ("indef", "part")
        obj = de.noun_phrase(c.obj, v.case, "O", negative=kein)
        if c.obj.det == "def":
            early += obj
        else:
            late += obj  # indefinite objects come late: findet heute im Park einen Ball
    if c.state:
        late.append(("PRED", de.predicative(c.state)))
    negation = [("NEG", "nicht")] if c.negated and not kein else []
    subject = de.noun_phrase(c.subject, "nom", "S")
    return _Fields(subject, finite, v is not None and v.refl, early, late, right, negation, v)


def _middle(f: _Fields, with_subject: bool) -> list[Chunk]:
    """sich [subject] Mittelfeld; the reflexive precedes a subject that follows the verb."""
    out = [("R", "sich")] if f.refl else []
    return out + (f.subject if with_subject else []) + f.early + f.negation + f.late


def _main(f: _Fields, front: list[Chunk], question: bool) -> list[Chunk]:
    if question:
        return [("V", f.finite)] + _middle(f, True) + f.right
    if front:
        return front + [("V", f.finite)] + _middle(f, True) + f.right
    return f.subject + [("V", f.finite)] + _middle(f, False) + f.right


def _subordinate(f: _Fields) -> list[Chunk]:
    """Verb-final: weil die Katze den Ball sucht / anschaut / gesucht hat / suchen wird."""
    if f.verb is not None and f.verb.particle and f.right == [("V.prt", f.verb.particle)]:
        return _middle(f, True) + [("V", f.verb.joined(f.finite))]
    return _middle(f, True) + f.right + [("V", f.finite)]


def chunks(frame: Frame) -> list[Chunk]:
    time = lx.TIMES[frame.time].spec("de") if frame.time else ""
    manner = lx.ADVERBS[frame.manner].spec("de") if frame.manner else ""
    place = de.place_phrase(frame.place, place_is_goal(frame)) if frame.place else None
    inner_time = "" if frame.front_time else time
    fields = _fields(frame.clause, inner_time, manner, place)
    front = [("T", time)] if frame.front_time else []
    out = _main(fields, front, frame.question)
    if frame.because:
        out = [ch for ch in out if ch[1]]
        out[-1] = (out[-1][0], out[-1][1] + ",")  # the comma before a subordinate clause is compulsory
        out += [("C", "weil")] + prefixed(_subordinate(_fields(frame.because)), "B.")
    return out


def realize(frame: Frame) -> str:
    return finish(join(chunks(frame)), "de", frame.question)

