"""SpecAugment (frequency and time masking, Park et al. 2019) on padded batches, driven by explicit
``torch.Generator`` objects: one for the batch, or one per utterance (the trainer seeds each utterance's
generator from its position in the global batch, so draws do not depend on the number of ranks).

Time masks are placed inside each utterance's valid frames only; their width is bounded by a fraction of
that utterance's length (adaptive masking, as in icefall/ESPnet). Time warping is not implemented.

>>> aug = SpecAugment(freq_masks=2, freq_width=27, time_masks=5, time_width_ratio=0.05)
>>> x = torch.ones(2, 100, 80); lens = torch.tensor([100, 60])
>>> y = aug(x, lens, torch.Generator().manual_seed(0))
>>> y.shape, bool((y[1, 60:] == 1).all())        # padding untouched
(torch.Size([2, 100, 80]), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class SpecAugment:
    freq_masks: int = 2
    freq_width: int = 27
    time_masks: int = 10
    time_width_ratio: float = 0.05  # each time mask is at most this fraction of the utterance
    fill: float = 0.0               # after CMVN, 0 is the mean

    def __call__(self, feats: torch.Tensor, lengths: torch.Tensor,
                 generator: torch.Generator | list[torch.Generator]) -> torch.Tensor:
        """``feats (B, T, F)``, ``lengths (B,)`` -> masked copy, same shape. ``generator``: one for the
        batch or a list with one per utterance."""
        out = feats.clone()
        batch, _, num_bins = out.shape
        for b in range(batch):
            gen = generator[b] if isinstance(generator, (list, tuple)) else generator
            valid = int(lengths[b])
            for _ in range(self.freq_masks):
                width = int(torch.randint(0, self.freq_width + 1, (1,), generator=gen))
                start = int(torch.randint(0, max(1, num_bins - width + 1), (1,), generator=gen))
                out[b, :valid, start:start + width] = self.fill
            max_width = int(self.time_width_ratio * valid)
            for _ in range(self.time_masks if max_width > 0 else 0):
                width = int(torch.randint(0, max_width + 1, (1,), generator=gen))
                start = int(torch.randint(0, max(1, valid - width + 1), (1,), generator=gen))
                out[b, start:start + width, :] = self.fill
        return out
