"""Mechanisms shared by the French, Spanish and Catalan realizers; the rules that differ stay in each.

* nouns ``sg|gender[|pl][|flag]`` and adjectives ``[^]ms[|fs|mp|fp[|ms before a vowel]]``, parsed with a
  language's own default plural / feminine rules;
* agreement of adjectives and participles in gender and number (*rouge/rouges*, *rojo/roja/rojos/rojas*);
* noun phrases with the adjective after the noun, or before it when marked ``^`` (French *petit*, *beau*);
* token passes for elision (*le arbre → l'arbre*) and contraction (*à le → au*, *a el → al*).

>>> adj = parse_adjective("^beau|belle|beaux|belles|bel", None)
>>> adj.form("m", False, before_vowel=True), adj.form("f", True)
('bel', 'belles')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .surface import Chunk


@dataclass(frozen=True)
class Noun:
    sg: str
    pl: str
    gender: str  # "m" | "f"
    flag: str = ""  # language-specific (Spanish "a": feminine noun with stressed a-, takes "el")
    prep: str = ""  # places: preposition of location
    goal: str = ""  # places: preposition of a goal


@dataclass(frozen=True)
class Adjective:
    forms: tuple[str, str, str, str]  # ms, fs, mp, fp
    pre: bool = False  # placed before the noun
    before_vowel: str = ""  # masculine singular before a vowel (French bel, vieil, nouvel)

    def form(self, gender: str, plural: bool, before_vowel: bool = False) -> str:
        if before_vowel and self.before_vowel and gender == "m" and not plural:
            return self.before_vowel
        return self.forms[(2 if plural else 0) + (gender == "f")]


def parse_noun(spec: str, pluralize: Callable[[str], str]) -> Noun:
    fields = spec.split("|") + ["", ""]
    sg, gender, pl, flag = fields[:4]
    return Noun(sg, pl or pluralize(sg), gender, flag)


def parse_place(spec: str, goal_default: str) -> Noun:
    """``noun|gender|preposition[|goal preposition]``; places are singular."""
    fields = spec.split("|")
    goal = fields[3] if len(fields) > 3 else goal_default
    return Noun(fields[0], fields[0], fields[1], prep=fields[2], goal=goal)


def parse_adjective(spec: str, derive: Callable[[str], tuple[str, str, str]] | None) -> Adjective:
    pre = spec.startswith("^")
    forms = spec.lstrip("^").split("|")
    if len(forms) == 1:
        forms += list(derive(forms[0]))
    return Adjective(tuple(forms[:4]), pre, forms[4] if len(forms) > 4 else "")


def noun_phrase(role: str, det: str, noun: str, adj: Adjective | None, gender: str, plural: bool,
                vowel: Callable[[str], bool]) -> list[Chunk]:
    """Determiner, noun and an agreeing adjective, before or after the noun as the adjective wants."""
    out = [(role + ".det", det)]
    if adj is None:
        return out + [(role, noun)]
    form = adj.form(gender, plural, before_vowel=vowel(noun))
    if adj.pre:
        return out + [(role + ".adj", form), (role, noun)]
    return out + [(role, noun), (role + ".adj", form)]


def elide(tokens: list[str], elidable: dict[str, str], vowel: Callable[[str], bool]) -> list[str]:
    """Merge ``le arbre`` into ``l'arbre`` for each elidable word followed by a vowel-initial word."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token in elidable and i + 1 < len(tokens) and vowel(tokens[i + 1]):
            out.append(elidable[token] + tokens[i + 1])
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def contract(tokens: list[str], pairs: dict[tuple[str, str], str]) -> list[str]:
    """Replace word pairs by their contraction (``à le`` → ``au``), left to right."""
    out: list[str] = []
    for token in tokens:
        if out and (out[-1], token) in pairs:
            out[-1] = pairs[(out[-1], token)]
        else:
            out.append(token)
    return out
