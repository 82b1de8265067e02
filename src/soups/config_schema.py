"""Typed configs from plain dicts: every unknown key or bad value is an error naming the dotted key.

A config class is a dataclass whose fields carry their type; nested dataclasses, ``list[...]``,
``dict[str, ...]``, ``Optional``, ``Literal[...]`` (choices) and scalars are supported.

>>> from dataclasses import dataclass, field
>>> from typing import Literal
>>> @dataclass
... class Opt:
...     name: Literal["adamw", "sgd"] = "adamw"
...     lr: float = 1e-3
>>> build(Opt, {"lr": 0.1}, "train.optim")
Opt(name='adamw', lr=0.1)
>>> build(Opt, {"nme": "sgd"}, "train.optim")
Traceback (most recent call last):
...
soups.errors.ConfigError: config key 'train.optim.nme': unknown key (valid choices: name, lr)
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

import yaml

from soups.errors import ConfigError


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp))


def convert(tp, value: Any, key: str):
    """``value`` as type ``tp`` or a :class:`ConfigError` naming ``key``."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return convert(arg, value, key)
            except ConfigError as err:
                errors.append(err.message)
        raise ConfigError(key, f"{value!r} fits none of the allowed types ({'; '.join(errors)})")
    if origin is Literal:
        if value not in args:
            raise ConfigError(key, f"invalid value {value!r}", choices=args)
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected a mapping, got {value!r}")
        return build(tp, value, key)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(key, f"expected a list, got {value!r}")
        inner = args[0] if args else Any
        out = [convert(inner, v, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected a mapping, got {value!r}")
        kt, vt = args if args else (Any, Any)
        return {convert(kt, k, key): convert(vt, v, f"{key}.{k}") for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(key, f"expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            raise ConfigError(key, f"expected an integer, got {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, str):  # PyYAML (YAML 1.1) reads "1e-3" as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key, f"expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {value!r}")
        return value
    raise TypeError(f"unsupported config type {_type_name(tp)} at {key}")


def check_ranges(obj, prefix: str, rules: dict[str, str]) -> None:
    """Range-check numeric fields of a config dataclass; ``rules`` maps a field to ``">0"``, ``">=0"``,
    ``">=1"``, ``"0..1"`` (closed), ``"(0,1]"``, ``"[0,1)"`` or ``"-1..1"`` (closed: a cosine). ``None`` passes
    (an optional value left out). A violation is a :class:`ConfigError` naming the dotted key.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class T:
    ...     n: int = 0
    >>> check_ranges(T(), "train", {"n": ">=1"})
    Traceback (most recent call last):
    soups.errors.ConfigError: config key 'train.n': must be >= 1, got 0
    """
    tests = {">0": lambda v: v > 0, ">=0": lambda v: v >= 0, ">=1": lambda v: v >= 1,
             "0..1": lambda v: 0 <= v <= 1, "(0,1]": lambda v: 0 < v <= 1, "[0,1)": lambda v: 0 <= v < 1,
             "-1..1": lambda v: -1 <= v <= 1}
    for name, rule in rules.items():
        value = getattr(obj, name)
        values = value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]
        for v in values:
            if v is not None and not (isinstance(v, (int, float)) and v == v and tests[rule](v)):
                shown = f"in {rule}" if rule[0] in "0([-" else rule.replace("=", "= ").replace(">0", "> 0")
                key = f"{prefix}.{name}" if prefix else name
                raise ConfigError(key, f"must be {shown}, got {value!r}")


def build(cls, data: dict, prefix: str = ""):
    """Instantiate dataclass ``cls`` from ``data``, checking every key; runs ``cls.validate(prefix)`` if any."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    join = (lambda k: f"{prefix}.{k}") if prefix else (lambda k: k)
    for k in data:
        if k not in fields:
            raise ConfigError(join(k), "unknown key", choices=list(fields))
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = convert(hints[name], data[name], join(name))
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(join(name), "required key is missing")
    obj = cls(**kwargs)
    if hasattr(obj, "validate"):
        obj.validate(prefix)
    return obj


def to_dict(obj) -> Any:
    """A config back to plain data (for saving the resolved config)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``dotted.key=value`` overrides (values parsed as YAML scalars) to a nested dict, in place.
    List items are addressed by index (``objectives.2.weight=0.5``)."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(item, "an override must look like dotted.key=value")
        key, raw = item.split("=", 1)
        value = yaml.safe_load(raw) if raw.strip() else ""
        parts = key.strip().split(".")
        node = data
        for i, part in enumerate(parts[:-1]):
            node = _child(node, part, ".".join(parts[: i + 1]))
        last = parts[-1]
        if isinstance(node, list):
            node[_index(node, last, key)] = value
        else:
            node[last] = value
    return data


def _index(node: list, part: str, key: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise ConfigError(key, f"list index {part!r} out of range (0..{len(node) - 1})")
    return int(part)


def _child(node, part: str, key: str):
    if isinstance(node, list):
        return node[_index(node, part, key)]
    if not isinstance(node, dict):
        raise ConfigError(key, "is not a mapping; cannot set a sub-key")
    return node.setdefault(part, {})
