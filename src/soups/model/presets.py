"""Named model sizes and parameter counting.

* ``tiny``: the CPU demo model (narrow 32-channel frontend, d=144, 4 blocks); heads: 5 ASR CTC
  heads of 256 pieces + 4 translation decoders (1 layer each) over a 256-piece English vocabulary.
* ``paper-58m``: 8 blocks, d=512, 8 heads (head size 64).
* ``paper-100m``: 10 blocks, d=612, 12 heads (head size 51: RoPE rotates 50 channels of each head).

The paper presets are counted "with the paper's heads" as in its ICLR version: 5 ASR CTC heads
(En, Fr, De, Es, Ca) and 4 translation X→En CTC heads, all over 1000-piece vocabularies. The final
version's 3-layer Transformer decoders (``translation_head="decoder"``, tied embeddings) cost
≈ 13 M (58m) or ≈ 19 M (100m) each instead of 0.5/0.6 M for a CTC head (totals ≈ 111 M / 175 M; the
final version's own 83M/150M are not explained by the texts). SSL objective layers (CPC predictors,
BEST-RQ output layer) are not counted: they are training-only.

Example:
    >>> d = describe_preset("paper-58m")
    >>> 0.9 * 58e6 <= d["total"] <= 1.1 * 58e6
    True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
from torch import nn

from soups.errors import ConfigError
from soups.model.conformer import ConformerEncoder, EncoderConfig
from soups.model.decoder import TransformerDecoderHead
from soups.model.heads import CTCHead

COVOST_ASR = ("en", "fr", "de", "es", "ca")
COVOST_ST = ("fr", "de", "es", "ca")  # X -> En


@dataclass(frozen=True)
class DecoderConfig:
    """Keyword arguments of :class:`TransformerDecoderHead` (besides d_model / vocab)."""

    num_layers: int = 3
    num_heads: int = 4
    ff_dim: int | None = None
    dropout: float = 0.1
    label_smoothing: float = 0.1
    tie_embeddings: bool = True


@dataclass(frozen=True)
class Preset:
    """A model size: encoder config + the head layout it is counted with."""

    name: str
    encoder: EncoderConfig
    asr_languages: tuple[str, ...] = COVOST_ASR
    st_languages: tuple[str, ...] = COVOST_ST
    asr_vocab: int = 1000
    st_vocab: int = 1000
    translation_head: str = "ctc"  # "ctc" (ICLR version) or "decoder" (final version)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    description: str = ""


PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        "tiny",
        EncoderConfig(d_model=144, num_blocks=4, num_heads=4, conv_kernel=31, dropout=0.1, subsampling_channels=32),
        asr_vocab=256, st_vocab=256, translation_head="decoder",
        decoder=DecoderConfig(num_layers=1, num_heads=4, ff_dim=288),
        description="CPU demo model (narrow frontend)",
    ),
    "paper-58m": Preset(
        "paper-58m", EncoderConfig(d_model=512, num_blocks=8, num_heads=8, conv_kernel=31),
        decoder=DecoderConfig(num_layers=3, num_heads=8), description="paper's 58M model (8 blocks, d=512)",
    ),
    "paper-100m": Preset(
        "paper-100m", EncoderConfig(d_model=612, num_blocks=10, num_heads=12, conv_kernel=31),
        decoder=DecoderConfig(num_layers=3, num_heads=12), description="paper's 100M model (10 blocks, d=612)",
    ),
}
TRANSLATION_HEADS = ("ctc", "decoder")


def get_preset(name: str) -> Preset:
    """The named preset; :class:`ConfigError` (key ``model.preset``) listing the choices otherwise."""
    if name not in PRESETS:
        raise ConfigError("model.preset", f"unknown model preset {name!r}", choices=sorted(PRESETS))
    return PRESETS[name]


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of (distinct; tied weights count once) parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def build_heads(preset: Preset, translation_head: str | None = None) -> nn.ModuleDict:
    """``{"asr_<lang>": CTCHead, "st_<lang>_en": CTCHead | TransformerDecoderHead}`` for a preset."""
    kind = translation_head or preset.translation_head
    if kind not in TRANSLATION_HEADS:
        raise ConfigError("model.translation_head", f"unknown head type {kind!r}", choices=TRANSLATION_HEADS)
    d = preset.encoder.d_model
    heads: dict[str, nn.Module] = {f"asr_{lang}": CTCHead(d, preset.asr_vocab) for lang in preset.asr_languages}
    for lang in preset.st_languages:
        if kind == "ctc":
            heads[f"st_{lang}_en"] = CTCHead(d, preset.st_vocab)
        else:
            dc = preset.decoder
            heads[f"st_{lang}_en"] = TransformerDecoderHead(
                d, preset.st_vocab, num_layers=dc.num_layers, num_heads=dc.num_heads, ff_dim=dc.ff_dim,
                dropout=dc.dropout, label_smoothing=dc.label_smoothing, tie_embeddings=dc.tie_embeddings,
            )
    return nn.ModuleDict(heads)


def build_model(name: str, translation_head: str | None = None, device: str | torch.device = "cpu") -> nn.ModuleDict:
    """``ModuleDict(encoder=ConformerEncoder, heads=ModuleDict)`` for a preset. ``device="meta"``
    builds shapes only (no memory, no init cost) — enough for counting."""
    preset = get_preset(name)
    with torch.device(device):
        encoder = ConformerEncoder(dataclasses.replace(preset.encoder))  # a copy: presets stay pristine
        return nn.ModuleDict({"encoder": encoder, "heads": build_heads(preset, translation_head)})


def describe_preset(name: str, translation_head: str | None = None) -> dict:
    """Parameter counts (built on the meta device): encoder / frontend / heads / total, and the shape."""
    preset = get_preset(name)
    model = build_model(name, translation_head, device="meta")
    enc, heads = model["encoder"], model["heads"]
    return {
        "name": name,
        "description": preset.description,
        "d_model": preset.encoder.d_model,
        "num_blocks": preset.encoder.num_blocks,
        "num_heads": preset.encoder.num_heads,
        "translation_head": translation_head or preset.translation_head,
        "frontend": count_parameters(enc.frontend),
        "encoder": count_parameters(enc),
        "heads": count_parameters(heads),
        "total": count_parameters(model),
    }
