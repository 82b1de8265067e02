"""Static objective weights of a phase (the ``weights`` key of a recipe or phase).

* ``mean``: every objective of the phase gets 1/M (fine-tuning "with the mean of supervised losses").
* ``level_mean``: 1/|level| for the objectives of each level of ``moo.hierarchy`` — with ``moo.mode:
  linear`` (whose weights are ``objective.weight × level scale``) this is exactly the hierarchy's static
  variant (uniform λ per level, same penalties): "joint PT+FT without MOO".
* ``{by: lang|task|objective, values: {key: w, …}, normalize: true}``: each objective takes the value of its
  language / task / name; ``normalize`` (default true) scales the weights to sum to 1 over the phase's
  objectives (so uniform values give ``mean``). The paper's static weights, [En, Fr, De, Es, Ca] =
  [0.18, 0.19, 0.27, 0.16, 0.20], are ``{by: lang, values: {en: 0.18, fr: 0.19, de: 0.27, es: 0.16, ca: 0.20}}``.

>>> data = {"objectives": [{"name": "a", "task": "asr", "lang": "fr"}, {"name": "b", "task": "st", "lang": "fr"},
...                        {"name": "c", "task": "asr", "lang": "de"}]}
>>> apply_weights(data, {"by": "lang", "values": {"fr": 1, "de": 2}}, "w")
['weights by lang: a=0.25, b=0.25, c=0.5']
"""

from __future__ import annotations

from typing import Any

from soups.errors import ConfigError

BY = ("lang", "task", "objective")


def weight_key(obj: dict, by: str) -> str | None:
    if by == "objective":
        return obj.get("name")
    if by == "task":
        return obj.get("task")
    return obj.get("lang") or ("ssl" if obj.get("task") == "ssl" else None)


def check_values(spec: Any, key: str) -> tuple[str, dict[str, float], bool]:
    """``(by, values, normalize)`` of a mapping spec, checked."""
    if not isinstance(spec, dict):
        raise ConfigError(key, f"expected mean, level_mean or {{by, values, normalize}}, got {spec!r}")
    unknown = set(spec) - {"by", "values", "normalize"}
    if unknown:
        raise ConfigError(f"{key}.{sorted(unknown)[0]}", "unknown key", choices=["by", "values", "normalize"])
    by = spec.get("by", "lang")
    if by not in BY:
        raise ConfigError(f"{key}.by", f"invalid value {by!r}", choices=BY)
    values = spec.get("values")
    if not isinstance(values, dict) or not values:
        raise ConfigError(f"{key}.values", "a non-empty mapping of weights is needed")
    for k, v in values.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise ConfigError(f"{key}.values.{k}", f"a weight must be a number >= 0, got {v!r}")
    return by, {str(k): float(v) for k, v in values.items()}, bool(spec.get("normalize", True))


def _level_mean(data: dict, key: str) -> list[float]:
    from soups.moo.hierarchy import Hierarchy, HierarchyConfig

    objs = data["objectives"]
    names = [o.get("name") for o in objs]
    hcfg = HierarchyConfig.from_dict((data.get("moo") or {}).get("hierarchy") or {}, key="moo.hierarchy")
    tags = {o.get("name"): {"task": o.get("task"), "lang": o.get("lang") or ""} for o in objs}
    h = Hierarchy(hcfg, names, ssl=[o.get("name") for o in objs if o.get("task") == "ssl"], tags=tags)
    out = [0.0] * len(objs)
    for level in h.index:
        for m in level:
            out[m] = 1.0 / len(level)
    return out


def apply_weights(data: dict, spec: Any, key: str) -> list[str]:
    """Set ``weight`` of every objective in ``data["objectives"]`` per ``spec``; returns notes."""
    objs = data["objectives"]
    if spec is None:
        return []
    if spec == "mean":
        ws = [1.0 / len(objs)] * len(objs)
    elif spec == "level_mean":
        ws = _level_mean(data, key)
    else:
        by, values, normalize = check_values(spec, key)
        ws = []
        for o in objs:
            k = weight_key(o, by)
            if k not in values:
                raise ConfigError(f"{key}.values", f"no weight for {by} {k!r} (objective {o.get('name')!r})",
                                  choices=sorted(values))
            ws.append(values[k])
        total = sum(ws)
        if normalize:
            if total <= 0:
                raise ConfigError(f"{key}.values", "the weights of this phase's objectives sum to 0")
            ws = [w / total for w in ws]
    for o, w in zip(objs, ws):
        o["weight"] = float(w)
    label = spec if isinstance(spec, str) else f"by {spec.get('by', 'lang')}"
    return [f"weights {label}: " + ", ".join(f"{o.get('name')}={round(w, 6):g}" for o, w in zip(objs, ws))]
