"""Euclidean projection onto the probability simplex Δ = {x : x ≥ 0, Σ x = 1}.

Used by the MoDo λ update (docs/method.md, "MoDo": λ ← Π_Δ(λ − γ(G1 G2ᵀ λ + ρ λ))).
"""

from __future__ import annotations

import torch
from torch import Tensor


def project_simplex(v: Tensor) -> Tensor:
    """Project ``v`` onto the probability simplex along its last dim (sort-and-threshold).

    Works on any batch shape (..., M); computed in float64 (tiny and huge entries stay exact enough)
    and returned in the dtype and on the device of ``v``.

    Algorithm (Held et al. 1974; Duchi et al. 2008): sort u = sort(v) descending, find the largest
    k with u_k − (Σ_{j≤k} u_j − 1)/k > 0, threshold θ = (Σ_{j≤k} u_j − 1)/k, return max(v − θ, 0).

    >>> project_simplex(torch.tensor([0.4, 0.25]))
    tensor([0.5750, 0.4250])
    >>> project_simplex(torch.tensor([[2.0, 0.0, -1.0]]))
    tensor([[1., 0., 0.]])
    """
    if v.dim() == 0:
        raise ValueError("project_simplex needs at least one dimension (the objectives)")
    m = v.shape[-1]
    if m == 0:
        raise ValueError("project_simplex needs at least one objective")
    x = v.to(torch.float64)
    # Shift invariance of Π_Δ: subtracting the max keeps "−1" from vanishing next to huge entries.
    x = x - x.max(dim=-1, keepdim=True).values
    u, _ = torch.sort(x, dim=-1, descending=True)
    css = torch.cumsum(u, dim=-1) - 1.0
    k = torch.arange(1, m + 1, device=x.device, dtype=torch.float64)
    positive = (u - css / k) > 0
    # ρ = the largest k where the condition holds (k=1 always does: u_1 − (u_1 − 1) = 1 > 0).
    idx = torch.arange(m, device=x.device)
    last = torch.where(positive, idx, torch.zeros_like(idx)).max(dim=-1, keepdim=True).values
    theta = torch.gather(css, -1, last) / (last + 1).to(torch.float64)
    out = torch.clamp(x - theta, min=0.0)
    return out.to(v.dtype)
