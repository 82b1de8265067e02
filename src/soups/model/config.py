"""The ``model`` section of the experiment config: the Conformer preset and its overrides, or a transformers
backbone (``encoder.kind: hf``, :class:`~soups.model.hf.HFEncoderConfig`); decoder and SSL options. Checked at
load, without reading any model file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from soups.errors import ConfigError

ENCODER_KINDS = ("conformer", "hf")


def hf_encoder_config(encoder: dict):
    """``model.encoder.hf`` as a checked :class:`~soups.model.hf.HFEncoderConfig` (no file is read)."""
    from soups.model.hf import HFEncoderConfig

    spec = encoder.get("hf")
    if not isinstance(spec, dict):
        raise ConfigError("model.encoder.hf", "give the backbone as a mapping: {path: DIR or hub id, …}")
    try:
        return HFEncoderConfig(**spec)
    except TypeError as err:
        raise ConfigError("model.encoder.hf", f"unknown option ({err})") from None


@dataclass
class ModelConfig:
    preset: str = "tiny"
    encoder: dict[str, Any] = field(default_factory=dict)   # overrides of soups.model.EncoderConfig fields
    decoder: dict[str, Any] = field(default_factory=dict)   # overrides of soups.model.DecoderConfig fields
    ssl: dict[str, Any] = field(default_factory=dict)       # options of the SSL objective's config

    def validate(self, prefix: str) -> None:
        """``encoder.kind``: ``conformer`` (the preset's, with ``encoder`` overriding its fields) or ``hf`` (a
        transformers backbone, ``encoder.hf`` = :class:`~soups.model.hf.HFEncoderConfig`; nothing else)."""
        kind = self.encoder.get("kind", "conformer")
        if kind not in ENCODER_KINDS:
            raise ConfigError(f"{prefix}.encoder.kind", f"unknown value {kind!r}", choices=ENCODER_KINDS)
        if kind == "conformer" and "hf" in self.encoder:
            raise ConfigError(f"{prefix}.encoder.hf", "only with model.encoder.kind=hf")
        if kind == "conformer":
            self._check_overrides(prefix)
        if kind == "hf":
            extra = sorted(set(self.encoder) - {"kind", "hf"})
            if extra:
                raise ConfigError(f"{prefix}.encoder.{extra[0]}", "a Conformer option; with kind=hf the backbone is "
                                  "set under model.encoder.hf (path, freeze_feature_encoder, gradient_checkpointing, "
                                  "mask_time_prob, layerdrop, intermediate_layers)")
            hf_encoder_config(self.encoder)

    def _check_overrides(self, prefix: str) -> None:
        """The preset exists and ``encoder`` / ``decoder`` name its fields with valid values (EncoderConfig's
        own checks), before anything is built."""
        import dataclasses

        from soups.model.presets import get_preset

        preset = get_preset(self.preset)
        for section, base in (("encoder", preset.encoder), ("decoder", preset.decoder)):
            values = {k: v for k, v in getattr(self, section).items() if k != "kind"}
            unknown = sorted(set(values) - {f.name for f in dataclasses.fields(base)})
            if unknown:
                raise ConfigError(f"{prefix}.{section}.{unknown[0]}", "unknown option",
                                  choices=sorted(f.name for f in dataclasses.fields(base)))
            try:
                dataclasses.replace(base, **values)
            except (TypeError, ValueError) as err:
                raise ConfigError(f"{prefix}.{section}", str(err)) from None
