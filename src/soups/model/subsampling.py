"""Convolutional subsampling frontend: ×4 (10 ms feature frames -> 40 ms encoder frames) or ×2 (-> 20 ms).

Two 3×3 convolutions with **no padding** (neither in time nor in frequency), both with stride 2 in
frequency; in time both have stride 2 (×4) or only the first (×2). Output frame ``t`` sees input frames
``f·t .. f·t+6`` only (``f`` the factor), so a valid output frame never depends on frames past the end
of its sequence, and the output length follows exactly from the conv arithmetic:
``T1 = (T - 3) // 2 + 1``, ``T' = (T1 - 3) // s + 1`` with ``s = f / 2`` (0 when ``T < 7``).
×2 is for character CTC targets that outnumber 40 ms frames (fast speech, French).

Example:
    >>> import torch
    >>> subsampled_lengths(torch.tensor([0, 6, 7, 100, 300]))
    tensor([ 0,  0,  1, 24, 74])
    >>> subsampled_lengths(torch.tensor([0, 6, 7, 100, 300]), factor=2)
    tensor([  0,   0,   1,  47, 147])
    >>> fe = Conv2dSubsampling(input_dim=80, channels=32, d_model=64)
    >>> fe(torch.randn(2, 100, 80)).shape
    torch.Size([2, 24, 64])
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

KERNEL, STRIDE = 3, 2
FACTORS = (2, 4)
MIN_INPUT_FRAMES = 7  # shortest input that yields one output frame (either factor)


def check_factor(factor: int) -> int:
    """``factor`` if it is a supported subsampling factor, else ValueError."""
    if factor not in FACTORS:
        raise ValueError(f"subsampling factor must be one of {FACTORS}, got {factor}")
    return factor


def conv_out_len(n: Tensor | int, stride: int = STRIDE) -> Tensor | int:
    """Output length of one unpadded 3-tap convolution with ``stride`` (clamped at 0)."""
    if isinstance(n, Tensor):
        return torch.clamp((n - KERNEL) // stride + 1, min=0)
    return max((n - KERNEL) // stride + 1, 0)


def subsampled_lengths(lengths: Tensor | int, factor: int = 4) -> Tensor | int:
    """Encoder-frame lengths for input-frame lengths (tensor of any shape, or an int).

    Exact for the frontend: ``T' = ((T - 3)//2 + 1 - 3)//(factor/2) + 1``, clamped at 0 (``T < 7`` -> 0).
    """
    return conv_out_len(conv_out_len(lengths), check_factor(factor) // 2)


class Conv2dSubsampling(nn.Module):
    """``(B, T, F)`` features -> ``(B, T', d_model)`` with ``T' = subsampled_lengths(T, factor)``.

    ``channels`` is the conv width; a narrow frontend (e.g. 32) keeps tiny models tiny.
    Inputs shorter than 7 frames are right-padded so the convolutions run; they give 0 frames.
    """

    def __init__(self, input_dim: int, channels: int, d_model: int, dropout: float = 0.0, factor: int = 4):
        super().__init__()
        self.factor = check_factor(factor)
        self.conv = nn.Sequential(
            nn.Conv2d(1, channels, KERNEL, STRIDE),
            nn.ReLU(),
            nn.Conv2d(channels, channels, KERNEL, (factor // 2, STRIDE)),  # (time, frequency) strides
            nn.ReLU(),
        )
        freq_out = conv_out_len(conv_out_len(input_dim))
        if freq_out < 1:
            raise ValueError(f"input_dim={input_dim} is too small for the frontend (need >= 7)")
        self.out = nn.Linear(channels * freq_out, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, feats: Tensor) -> Tensor:
        b, t, _ = feats.shape
        t_out = subsampled_lengths(t, self.factor)
        if t < MIN_INPUT_FRAMES:
            feats = nn.functional.pad(feats, (0, 0, 0, MIN_INPUT_FRAMES - t))
        x = self.conv(feats.unsqueeze(1))  # (B, C, T'', F')
        x = x[:, :, :t_out]  # empty when the original input was too short
        x = x.permute(0, 2, 1, 3).flatten(2)  # (B, T', C*F')
        return self.dropout(self.out(x))
