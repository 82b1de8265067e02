"""The paper's level orders as data, built from objective tags (docs/method.md, "The three formulations").

UAS: tag ``task`` — recognition at level 1, translation at level 2, SSL lowest.
USA: translation at level 1, recognition at level 2, SSL lowest.
UEC: tag ``language`` (or ``lang``) — English at level 1, Chinese at level 2, SSL lowest. UCE: the reverse.

The tag vocabulary (values accepted for each level) is data here; the ordering logic
(``levels_by_tag``) knows nothing about what the tags mean.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from ..errors import ConfigError

_RECOGNITION = ("asr",)
_TRANSLATION = ("st", "s2tt", "ast", "translation")
_ENGLISH = ("en", "eng", "english")
_CHINESE = ("zh", "cmn", "zh-cn", "chinese", "mandarin")


@dataclass(frozen=True)
class OrderPreset:
    """Levels from one tag (the first of ``tag``'s alternative keys an objective has): ``groups[p]``
    are the tag values placed at level p+1 (SSL goes last)."""

    tag: tuple[str, ...]
    groups: tuple[tuple[str, ...], ...]
    description: str


PRESETS: dict[str, OrderPreset] = {
    "uas": OrderPreset(("task",), (_RECOGNITION, _TRANSLATION), "recognition > translation > SSL"),
    "usa": OrderPreset(("task",), (_TRANSLATION, _RECOGNITION), "translation > recognition > SSL"),
    "uec": OrderPreset(("language", "lang"), (_ENGLISH, _CHINESE), "English > Chinese > SSL"),
    "uce": OrderPreset(("language", "lang"), (_CHINESE, _ENGLISH), "Chinese > English > SSL"),
}


def levels_by_tag(objectives: Sequence[str], tags: Mapping[str, Mapping[str, str]], tag: str | Sequence[str],
                  groups: Sequence[Sequence[str]], ssl: Collection[str] = (),
                  key: str = "moo.levels") -> list[list[str]]:
    """Group objectives into levels by the value of one tag; SSL objectives form the lowest level.

    ``tag``: a tag key, or alternative keys (the first one an objective has is used). Objectives keep
    their given order within a level. Tag values compare case-insensitively.

    >>> tags = {"a": {"task": "asr"}, "b": {"task": "st"}, "u": {}}
    >>> levels_by_tag(["a", "b", "u"], tags, "task", [["st"], ["asr"]], ssl=["u"])
    [['b'], ['a'], ['u']]
    """
    keys = (tag,) if isinstance(tag, str) else tuple(tag)
    lowered = [tuple(v.lower() for v in group) for group in groups]
    levels: list[list[str]] = [[] for _ in groups]
    for name in objectives:
        if name in ssl:
            continue
        own = tags.get(name, {})
        value = str(next((own[k] for k in keys if own.get(k) is not None), "")).lower()
        hits = [p for p, group in enumerate(lowered) if value in group]
        if not hits:
            raise ConfigError(key, f"objective {name!r} ({keys[0]}={value or None!r}) fits no level of this order",
                              choices=[v for group in lowered for v in group])
        levels[hits[0]].append(name)
    for p, level in enumerate(levels):
        if not level:
            raise ConfigError(key, f"no objective has {keys[0]} in {list(lowered[p])} (level {p + 1} would be empty)")
    ssl_level = [name for name in objectives if name in ssl]
    return levels + [ssl_level] if ssl_level else levels


def preset_levels(name: str, objectives: Sequence[str], tags: Mapping[str, Mapping[str, str]] | None,
                  ssl: Collection[str] = (), key: str = "moo.levels") -> list[list[str]]:
    """The levels of a named preset (``uas``, ``usa``, ``uec``, ``uce``) for these objectives.

    >>> tags = {"r_en": {"task": "asr"}, "t_fr": {"task": "st"}, "r_fr": {"task": "asr"}, "u": {}}
    >>> preset_levels("uas", ["r_en", "t_fr", "r_fr", "u"], tags, ssl=["u"])
    [['r_en', 'r_fr'], ['t_fr'], ['u']]
    """
    preset = PRESETS.get(str(name).lower())
    if preset is None:
        raise ConfigError(key, f"unknown level preset {name!r}", choices=sorted(PRESETS))
    if tags is None:
        raise ConfigError(key, f"preset {name!r} needs objective tags ({preset.tag[0]!r} of each objective)")
    return levels_by_tag(objectives, tags, preset.tag, preset.groups, ssl, key)
