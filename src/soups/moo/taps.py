"""Per-sample arithmetic on the tap gradients of :class:`soups.moo.engine.StepTerms` (MoDo's double sampling):
which share of a tap row belongs to which sample, and the pooled per-sample vectors fast mode's Gram is built
from. Pure tensor code, no autograd (the engine owns that)."""

from __future__ import annotations

import torch
from torch import Tensor


def row_scale(terms, m: int) -> Tensor:
    """Per row of objective m's taps: S / (number of samples using it). A row shared by k samples (a
    1-utterance batch used as both) carries 1/S of each of their gradients."""
    return terms.num_samples / torch.bincount(torch.cat(terms.sample_rows[m])).clamp(min=1)


def pooled_sample_taps(terms, tap_grads, m: int) -> list[Tensor | None]:
    """Per sample s: ``GradientEngine._sample_cotangents`` of objective m summed over all but the last dim and
    concatenated over its taps — from per-row sums ``(B, D)``, without building per-sample copies of the
    ``(B, T, D)`` tap gradients (what keeps fast mode near linear as M grows)."""
    if not terms.local[m]:
        return [None] * max(1, terms.num_samples)
    own = terms.own_taps(m)
    if own is not None:
        return [torch.cat([g.reshape(-1, g.shape[-1]).sum(0) * terms.num_samples
                           for j, g in enumerate(tap_grads[m]) if own[j] == s]) for s in range(terms.num_samples)]
    if terms.sample_rows is None or terms.num_samples == 1:
        return [torch.cat([g.reshape(-1, g.shape[-1]).sum(0) for g in tap_grads[m]])]
    rows_sums = [g.reshape(g.shape[0], -1, g.shape[-1]).sum(1) for g in tap_grads[m]]   # (B, D) per tap
    scale = row_scale(terms, m)
    return [torch.cat([(r[rows] * scale[rows].to(r)[:, None]).sum(0) for r in rows_sums])
            for rows in terms.sample_rows[m]]


def tap_width(terms) -> int:
    """Length of one objective's pooled tap vector (the same for every objective)."""
    m = next(m for m, ts in enumerate(terms.taps) if ts)
    own = terms.own_taps(m)
    return sum(t.shape[-1] for j, t in enumerate(terms.taps[m]) if own is None or own[j] == 0)
