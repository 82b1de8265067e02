"""The SSL objectives by name: ``build_ssl("bestrq" | "cpc", d_model, **options)``.

Example:
    >>> import torch
    >>> from soups.model.conformer import ConformerEncoder, EncoderConfig
    >>> enc = ConformerEncoder(EncoderConfig(d_model=32, num_blocks=1, num_heads=2, subsampling_channels=8))
    >>> ssl = build_ssl("bestrq", d_model=32, num_codes=64)
    >>> loss, metrics = ssl(enc, torch.randn(2, 200, 80), torch.tensor([200, 150]),
    ...                     torch.Generator().manual_seed(0))
    >>> loss.dim(), sorted(metrics)[:2]
    (0, ['accuracy', 'code_entropy_bits'])
"""

from __future__ import annotations

from dataclasses import fields

from soups.errors import ConfigError
from soups.model.bestrq import BestRQConfig, BestRQObjective
from soups.model.cpc import CPCConfig, CPCObjective
from soups.model.ssl import SSLObjective


def build_ssl(kind: str, d_model: int, **options) -> SSLObjective:
    """``kind`` in {"cpc", "bestrq"}; ``options`` are fields of its config dataclass.

    Raises :class:`ConfigError` for an unknown kind or option.
    """
    table = {"cpc": (CPCConfig, CPCObjective), "bestrq": (BestRQConfig, BestRQObjective)}
    if kind not in table:
        raise ConfigError("model.ssl.kind", f"unknown SSL objective {kind!r}", choices=sorted(table))
    cfg_cls, obj_cls = table[kind]
    known = {f.name for f in fields(cfg_cls)}
    for key in options:
        if key not in known:
            raise ConfigError(f"model.ssl.{key}", f"unknown option for {kind}", choices=sorted(known))
    return obj_cls(d_model, cfg_cls(**options))
