"""Mandarin realizer (simplified characters): measure words, topic-time-place-verb order, 了/没/不/会, 吗.

* Order: [time] subject [time] [frequency] [不/没/会] [在 place] [manner 地] verb [了] object: time comes
  before place, and both before the verb (今天狗在公园里看见了三只猫).
* Numbers and 一 take the noun's measure word (三只猫, 两本书, 五辆车, 四杯咖啡); a bare 2 is 两.
  Nouns are not marked for plural, except 们 on definite people (孩子们).
* Aspect, not tense: 了 after the verb for a completed action (看见了, or at the end without object:
  睡觉了); the past is negated with 没 (没看见), the present with 不, the future with 会 / 不会; stative
  verbs take no 了. Some verbs have a negative potential form (看不见).
* Coverb verbs put the object before the verb (给妈妈打电话, 跟狗玩); motion verbs take the goal as object
  (去公园). States: 很 + adjective (猫很累), 是…的 for colours (球是红色的); questions end in 吗.

>>> from soups.data.synthetic.frames import Clause, Frame, NounPhrase
>>> realize(Frame(Clause(NounPhrase("dog"), "see", NounPhrase("cat", "num", 3), tense="past"),
...               place=NounPhrase("park"), time="today", front_time=True))
'今天狗在公园里看见了三只猫。'
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import lexicon as lx
from .frames import Clause, Frame, NounPhrase, place_is_goal
from .numbers import number_words
from .surface import Chunk, finish, join, prefixed


@dataclass(frozen=True)
class _Verb:
    word: str
    neg_present: str  # 看不见 for 看见; empty: 不 + verb
    coverb: str  # 给 in 给妈妈打电话
    stative: bool  # no 了; negated with 不 in the past too


@dataclass(frozen=True)
class _Adjective:
    attr: str  # before a noun: 大, 红色的
    pred: str  # after the subject: 大 (statement 很大), 是红色的 (used as is)


def _parse_verb(spec: str) -> _Verb:
    stative = spec.startswith("~")
    head, _, coverb = spec.lstrip("~").partition("<")
    word, _, neg = head.partition("|")
    return _Verb(word, neg, coverb, stative)


def _parse_adjective(spec: str) -> _Adjective:
    attr, _, pred = spec.partition("|")
    return _Adjective(attr, pred or attr.removesuffix("的"))


_NOUNS = {e.id: tuple(e.spec("zh").split("|")) + ("个",) for e in lx.NOUNS.values()}  # (noun, measure, ...)
_PLACES = {e.id: tuple(e.spec("zh").split("|")) for e in lx.PLACES.values()}  # (noun, localizer)
_VERBS = {e.id: _parse_verb(e.spec("zh")) for e in lx.VERBS.values()}
_ADJS = {e.id: _parse_adjective(e.spec("zh")) for e in lx.ADJECTIVES.values()}


def noun_phrase(np: NounPhrase, role: str) -> list[Chunk]:
    noun, measure = _NOUNS[np.noun][:2]
    if np.det == "indef":
        det = "一" + measure
    elif np.det == "num":
        det = number_words(np.number, "zh") + measure
    else:
        det = ""
    adj = _ADJS[np.adj].attr if np.adj else ""
    if np.det == "def" and np.number > 1 and not adj and "person" in lx.NOUNS[np.noun].tags:
        noun += "们"
    return [(role + ".det", det), (role + ".adj", adj), (role, noun)]


def _place(frame: Frame) -> tuple[list[Chunk], list[Chunk]]:
    """(locative phrase before the verb, goal after the motion verb)."""
    noun, localizer = _PLACES[frame.place.noun]
    adj = _ADJS[frame.place.adj].attr if frame.place.adj else ""
    if place_is_goal(frame):  # 去公园, but 去河边, 去山上: one-character nouns keep their localizer
        return [], [("P.adj", adj), ("P", noun + (localizer if len(noun) == 1 else ""))]
    return [("P.prep", "在"), ("P.adj", adj), ("P", noun + localizer)], []


def _state(c: Clause, question: bool) -> list[Chunk]:
    adj = _ADJS[c.state]
    aux = "会" if c.tense == "fut" else ""
    if c.negated:
        return [("NEG", "不" + aux), ("PRED", adj.pred)]  # 不累, 不是红色的, 不会累
    plain = question or adj.pred.startswith("是")
    return [("V", aux), ("PRED", adj.pred if plain else "很" + adj.pred)]  # 累吗, 很累, 会很累, 是红色的


def _action(c: Clause, pre_verb: list[Chunk], goal: list[Chunk]) -> list[Chunk]:
    v = _VERBS[c.verb]
    perfective = c.tense == "past" and not c.negated and not v.stative
    word = v.word
    if c.negated and c.tense == "pres" and v.neg_present:
        neg, word = "", v.neg_present
    elif c.negated:
        neg = {"pres": "不", "past": "不" if v.stative else "没", "fut": "不会"}[c.tense]
    else:
        neg = "会" if c.tense == "fut" else ""
    if c.obj is not None and c.negated and c.obj.det == "indef":
        obj = noun_phrase(replace(c.obj, det="def"), "O")  # 没看见猫, not 没看见一只猫
    else:
        obj = noun_phrase(c.obj, "O") if c.obj else goal
    le = [("ASP", "了")] if perfective else []
    head = [("NEG" if c.negated else "V", neg)] + pre_verb
    if v.coverb:
        return head + [("O.prep", v.coverb)] + obj + [("V", word)] + le
    if obj:
        return head + [("V", word)] + le + obj
    return head + [("V", word)] + le


def _clause(c: Clause, time: str = "", pre_verb: list[Chunk] | None = None, goal: list[Chunk] | None = None,
            question: bool = False) -> list[Chunk]:
    out = noun_phrase(c.subject, "S") + [("T", time)]
    if c.state:
        return out + (pre_verb or []) + _state(c, question)
    return out + _action(c, pre_verb or [], goal or [])


def chunks(frame: Frame) -> list[Chunk]:
    time = lx.TIMES[frame.time].spec("zh") if frame.time else ""
    locative, goal = _place(frame) if frame.place else ([], [])
    manner = [("M", lx.ADVERBS[frame.manner].spec("zh"))] if frame.manner else []
    out = [("T", time)] if frame.front_time else []
    out += _clause(frame.clause, "" if frame.front_time else time, locative + manner, goal, frame.question)
    if frame.question:
        out.append(("Q", "吗"))
    if frame.because:
        out += [("C", "，因为")] + prefixed(_clause(frame.because), "B.")
    return out


def realize(frame: Frame) -> str:
    return finish(join(chunks(frame), sep=""), "zh", frame.question)
