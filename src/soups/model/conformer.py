"""The shared Conformer encoder θ (Gulati et al., 2020) with RoPE self-attention.

Block: ½ FFN -> MHSA (RoPE, SDPA, key-padding mask) -> conv module -> ½ FFN -> LayerNorm.
The conv module normalises with LayerNorm (not BatchNorm) so samples never influence each other,
and zeroes padded frames before the depthwise convolution. Together with the unpadded frontend
this makes every valid output frame independent of padding and of the other batch items.

Example:
    >>> import torch
    >>> cfg = EncoderConfig(d_model=32, num_blocks=2, num_heads=4, subsampling_channels=8,
    ...                     intermediate_layers=(0,))
    >>> enc = ConformerEncoder(cfg).eval()
    >>> o = enc(torch.randn(2, 100, 80), torch.tensor([100, 60]))
    >>> o.out.shape, o.lengths.tolist(), sorted(o.intermediate)
    (torch.Size([2, 24, 32]), [24, 14], [0])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from soups.errors import ConfigError
from soups.model.attention import RotarySelfAttention
from soups.model.subsampling import FACTORS, Conv2dSubsampling, subsampled_lengths


@dataclass
class EncoderConfig:
    """Conformer hyper-parameters. ``subsampling_channels=None`` means ``d_model`` (the usual wide
    frontend); tiny models use a narrow one. ``intermediate_layers`` are 0-based block indices whose
    outputs are returned in ``EncoderOutput.intermediate`` (for intermediate CTC)."""

    input_dim: int = 80
    d_model: int = 256
    num_blocks: int = 12
    num_heads: int = 4
    ff_mult: int = 4
    conv_kernel: int = 31
    dropout: float = 0.1
    attention_dropout: float = 0.0
    subsampling_channels: int | None = None
    subsampling_factor: int = 4  # 4 (40 ms frames) or 2 (20 ms: room for character CTC targets)
    intermediate_layers: tuple[int, ...] = ()
    rope_base: float = 10000.0

    def __post_init__(self) -> None:
        self.intermediate_layers = tuple(int(i) for i in self.intermediate_layers)
        self.validate()

    def validate(self, prefix: str = "model.encoder") -> None:
        """Raise :class:`ConfigError` (with the dotted key) on an invalid value."""
        positive = ("input_dim", "d_model", "num_blocks", "num_heads", "ff_mult", "conv_kernel")
        for key in positive:
            if int(getattr(self, key)) < 1:
                raise ConfigError(f"{prefix}.{key}", f"must be >= 1, got {getattr(self, key)}")
        if self.input_dim < 7:
            raise ConfigError(f"{prefix}.input_dim", f"must be >= 7 for the subsampling frontend, got {self.input_dim}")
        if self.subsampling_factor not in FACTORS:
            raise ConfigError(f"{prefix}.subsampling_factor", f"unknown value {self.subsampling_factor!r}",
                              choices=FACTORS)
        if self.d_model % self.num_heads:
            raise ConfigError(f"{prefix}.num_heads", f"must divide d_model={self.d_model}, got {self.num_heads}")
        if self.conv_kernel % 2 == 0:
            raise ConfigError(f"{prefix}.conv_kernel", f"must be odd, got {self.conv_kernel}")
        for key in ("dropout", "attention_dropout"):
            if not 0.0 <= getattr(self, key) < 1.0:
                raise ConfigError(f"{prefix}.{key}", f"must be in [0, 1), got {getattr(self, key)}")
        if self.subsampling_channels is not None and self.subsampling_channels < 1:
            raise ConfigError(f"{prefix}.subsampling_channels", f"must be >= 1, got {self.subsampling_channels}")
        bad = [i for i in self.intermediate_layers if not 0 <= i < self.num_blocks]
        if bad:
            raise ConfigError(
                f"{prefix}.intermediate_layers", f"block indices {bad} outside 0..{self.num_blocks - 1}"
            )


@dataclass
class EncoderOutput:
    """``out`` ``(B, T', D)`` (padded frames zeroed), ``lengths`` ``(B,)``, ``mask`` ``(B, T')`` bool
    (``True`` = valid), ``intermediate`` {block index: ``(B, T', D)``}, ``hidden_states`` (when asked):
    ``[frontend output, block 0 output, ..., block N-1 output]``."""

    out: Tensor
    lengths: Tensor
    mask: Tensor
    intermediate: dict[int, Tensor] = field(default_factory=dict)
    hidden_states: list[Tensor] | None = None


def lengths_to_mask(lengths: Tensor, max_len: int) -> Tensor:
    """``(B,)`` lengths -> ``(B, max_len)`` bool mask, ``True`` on valid positions."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


class FeedForward(nn.Module):
    """Pre-norm FFN ``D -> mult*D -> D`` with SiLU; ``(B, T, D) -> (B, T, D)`` (residual outside)."""

    def __init__(self, d_model: int, mult: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(d_model),
            nn.Linear(d_model, mult * d_model),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(mult * d_model, d_model),
            nn.Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class ConvModule(nn.Module):
    """LN -> pointwise (D->2D) + GLU -> zero padding -> depthwise conv -> LN -> SiLU -> pointwise.

    ``x`` ``(B, T, D)``, ``mask`` ``(B, T)`` bool valid -> ``(B, T, D)`` (residual outside).
    Zeroing padded frames right before the depthwise conv makes a valid frame near the end see
    exactly the zeros it would see as the conv's own zero padding if the sequence were alone.
    """

    def __init__(self, d_model: int, kernel: int, dropout: float):
        super().__init__()
        self.norm_in = nn.LayerNorm(d_model)
        self.pointwise_in = nn.Linear(d_model, 2 * d_model)
        self.depthwise = nn.Conv1d(d_model, d_model, kernel, padding=kernel // 2, groups=d_model)
        self.norm_mid = nn.LayerNorm(d_model)  # per-sample norm (BatchNorm would couple samples)
        self.pointwise_out = nn.Linear(d_model, d_model)
        self.act = nn.SiLU()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        y = nn.functional.glu(self.pointwise_in(self.norm_in(x)), dim=-1)
        y = y.masked_fill(~mask[..., None], 0.0)
        y = self.depthwise(y.transpose(1, 2)).transpose(1, 2)
        y = self.pointwise_out(self.act(self.norm_mid(y)))
        return self.dropout(y)


class ConformerBlock(nn.Module):
    """One macaron Conformer block; ``(B, T, D)``, mask ``(B, T)`` -> ``(B, T, D)``."""

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        d = cfg.d_model
        self.ff1 = FeedForward(d, cfg.ff_mult, cfg.dropout)
        self.norm_attn = nn.LayerNorm(d)
        self.attn = RotarySelfAttention(d, cfg.num_heads, cfg.attention_dropout, cfg.rope_base)
        self.attn_dropout = nn.Dropout(cfg.dropout)
        self.conv = ConvModule(d, cfg.conv_kernel, cfg.dropout)
        self.ff2 = FeedForward(d, cfg.ff_mult, cfg.dropout)
        self.norm_out = nn.LayerNorm(d)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        x = x + 0.5 * self.ff1(x)
        x = x + self.attn_dropout(self.attn(self.norm_attn(x), mask))
        x = x + self.conv(x, mask)
        x = x + 0.5 * self.ff2(x)
        return self.norm_out(x)


class ConformerEncoder(nn.Module):
    """Frontend (×4 or ×2 in time) + ``num_blocks`` Conformer blocks.

    ``forward(feats (B, T, F), lengths (B,), return_hidden=False) -> EncoderOutput``.
    """

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        channels = cfg.subsampling_channels or cfg.d_model
        self.frontend = Conv2dSubsampling(cfg.input_dim, channels, cfg.d_model, cfg.dropout, cfg.subsampling_factor)
        self.blocks = nn.ModuleList(ConformerBlock(cfg) for _ in range(cfg.num_blocks))

    @property
    def d_model(self) -> int:
        return self.cfg.d_model

    def subsampled_lengths(self, lengths: Tensor | int) -> Tensor | int:
        """Encoder-frame lengths for input-frame lengths (see :func:`subsampled_lengths`)."""
        return subsampled_lengths(lengths, self.cfg.subsampling_factor)

    def forward(self, feats: Tensor, lengths: Tensor, return_hidden: bool = False) -> EncoderOutput:
        if feats.dim() != 3 or feats.shape[-1] != self.cfg.input_dim:
            raise ValueError(f"expected feats (B, T, {self.cfg.input_dim}), got {tuple(feats.shape)}")
        out_lengths = self.subsampled_lengths(lengths.to(feats.device).long())
        x = self.frontend(feats)
        mask = lengths_to_mask(out_lengths, x.shape[1])
        # masked_fill (not multiply) also removes NaN/inf that padded input may have produced.
        x = x.masked_fill(~mask[..., None], 0.0)
        hidden = [x] if return_hidden else None
        intermediate: dict[int, Tensor] = {}
        for i, block in enumerate(self.blocks):
            if x.shape[1]:  # a batch of inputs all shorter than 7 frames has no encoder frame at all
                x = block(x, mask)
            if i in self.cfg.intermediate_layers:
                intermediate[i] = x.masked_fill(~mask[..., None], 0.0)
            if hidden is not None:
                hidden.append(x.masked_fill(~mask[..., None], 0.0))
        x = x.masked_fill(~mask[..., None], 0.0)
        return EncoderOutput(out=x, lengths=out_lengths, mask=mask, intermediate=intermediate, hidden_states=hidden)

    def layer_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters grouped by layer for layer-wise conflict selection.

        ``{"frontend": [...], "block.0": [...], ..., "block.N-1": [...]}``; every parameter appears in
        exactly one group (each block's own output LayerNorm is the encoder's final norm for the last).
        """
        groups = {"frontend": list(self.frontend.parameters())}
        for i, block in enumerate(self.blocks):
            groups[f"block.{i}"] = list(block.parameters())
        return groups
