"""Surface helpers shared by the realizers: role-tagged chunks, capitalisation, punctuation, length.

Realizers build a sentence as a list of ``(role, text)`` chunks (roles: ``S`` subject, ``V`` finite verb,
``V2`` non-finite verb, ``O`` object, ``P`` place, ``T`` time, ``M`` manner, ``NEG``, ``PRED``, ``C``
conjunction; ``S.det`` / ``S.adj`` for the parts of a noun phrase, ``B.`` prefixes the *because* clause).
The roles are not printed; they let tests compare word orders across languages.

>>> finish(join([("S", "le chien"), ("V", "dort")]), "fr", question=True)
'Le chien dort ?'
"""

from __future__ import annotations

Chunk = tuple[str, str]

LENGTH_BOUNDS = {"zh": (6, 20)}  # characters for Chinese, words for the others
_DEFAULT_BOUNDS = (4, 14)
_ZH_PUNCT = "，。？"


def join(chunks: list[Chunk], sep: str = " ") -> str:
    return sep.join(text for _, text in chunks if text)


def roles(chunks: list[Chunk]) -> tuple[str, ...]:
    return tuple(role for role, text in chunks if text)


def prefixed(chunks: list[Chunk], prefix: str) -> list[Chunk]:
    return [(prefix + role, text) for role, text in chunks]


def capitalise(text: str) -> str:
    for i, ch in enumerate(text):
        if ch.isalpha():
            return text[:i] + ch.upper() + text[i + 1:]
    return text


def finish(text: str, lang: str, question: bool) -> str:
    """Capitalise and punctuate as Common Voice writes it (French "… ?", Spanish "¿…?", Chinese "。")."""
    text = capitalise(text)
    if lang == "zh":
        return text + ("？" if question else "。")
    if lang == "fr":
        return text + (" ?" if question else ".")
    if lang == "es" and question:
        return "¿" + text + "?"
    return text + ("?" if question else ".")


def length(text: str, lang: str) -> int:
    """Words (characters for Chinese, punctuation excluded)."""
    if lang == "zh":
        return sum(ch not in _ZH_PUNCT for ch in text)
    return sum(token not in ("?", "¿") for token in text.split())


def fits(text: str, lang: str) -> bool:
    low, high = LENGTH_BOUNDS.get(lang, _DEFAULT_BOUNDS)
    return low <= length(text, lang) <= high
