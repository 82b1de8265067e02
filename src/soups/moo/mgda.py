"""Exact MGDA: λ* = argmin_{λ∈Δ} ‖Gᵀλ‖² = argmin_{λ∈Δ} λᵀKλ (the paper's Eq. 11, min-norm element;
docs/method.md, "Baselines").

Solved exactly by a primal active-set method on the M×M Gram in float64 (Nocedal & Wright,
Alg. 16.3), not by a few Frank–Wolfe steps. The Gram is trace-normalised first, so rescaling all
gradients by any positive factor gives the same λ.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .base import normalized_gram, uniform


def solve_simplex_qp(Q: np.ndarray, tol: float = 1e-12, max_iter: int | None = None) -> np.ndarray:
    """min_x ½ xᵀQx  s.t.  x ≥ 0, Σx = 1, for a symmetric PSD Q (M×M), float64.

    Primal active set: the working set holds the bounds x_i = 0; each iteration solves the
    equality-constrained sub-problem on the free set with ``lstsq`` (exact also when Q is singular,
    e.g. duplicated or colinear gradients), then steps, adds a blocking bound, or drops the bound
    with the most negative multiplier. Returns a KKT point (the global minimum: the problem is convex).

    >>> solve_simplex_qp(np.array([[1.0, 0.0], [0.0, 4.0]])).round(6).tolist()
    [0.8, 0.2]
    """
    m = Q.shape[0]
    scale = max(float(np.abs(Q).max()), 1e-300)
    x = np.zeros(m)
    start = int(np.argmin(np.diag(Q)))  # best vertex
    x[start] = 1.0
    free = np.zeros(m, dtype=bool)
    free[start] = True
    at_optimum = False  # x minimises the sub-problem on the current free set
    for _ in range(max_iter or 20 * m + 50):
        g = Q @ x
        F = np.flatnonzero(free)
        if not at_optimum:
            p = _eqp_step(Q[np.ix_(F, F)], g[F])
            if np.abs(p).max() > tol:
                alpha, block = _step_length(x[F], p)
                x[F] += alpha * p
                if block >= 0:
                    x[F[block]], free[F[block]] = 0.0, False
                at_optimum = block < 0  # a full step lands on the sub-problem's minimum
                continue
            at_optimum = True
        nu = float(np.dot(x[F], g[F]))  # multiplier of Σx = 1 (g_F = ν on the free set)
        mu = np.where(free, np.inf, g - nu)  # multipliers of the active bounds x_i ≥ 0
        j = int(np.argmin(mu))
        if mu[j] >= -tol * scale:
            x = np.clip(x, 0.0, None)
            return x / x.sum()
        free[j], at_optimum = True, False
    return _quadprog_fallback(Q)  # not seen in tests; cycling guard


def _quadprog_fallback(Q: np.ndarray) -> np.ndarray:
    """The same QP by quadprog (Goldfarb–Idnani) on Q + εI (it needs a positive definite matrix)."""
    import quadprog  # noqa: PLC0415 — optional dependency (torchjd[quadprog-projector])

    m = Q.shape[0]
    eps = 1e-12 * max(float(np.trace(Q)), 1e-300)
    C = np.hstack([np.ones((m, 1)), np.eye(m)])
    b = np.concatenate([[1.0], np.zeros(m)])
    x = quadprog.solve_qp(Q + eps * np.eye(m), np.zeros(m), C, b, meq=1)[0]
    x = np.clip(x, 0.0, None)
    return x / x.sum()


def _step_length(x_F: np.ndarray, p: np.ndarray) -> tuple[float, int]:
    """Largest α ≤ 1 keeping x_F + αp ≥ 0, and the (local) index of the blocking bound or -1."""
    alpha, block = 1.0, -1
    for i in np.flatnonzero(p < 0):
        ratio = -x_F[i] / p[i]
        if ratio < alpha:
            alpha, block = ratio, int(i)
    return max(alpha, 0.0), block


def _eqp_step(Q_FF: np.ndarray, g_F: np.ndarray) -> np.ndarray:
    """Step p minimising ½pᵀQ_FF p + g_Fᵀp s.t. Σp = 0 (KKT system solved by least squares)."""
    k = len(g_F)
    if k == 1:
        return np.zeros(1)
    A = np.zeros((k + 1, k + 1))
    A[:k, :k] = Q_FF
    A[:k, k] = 1.0
    A[k, :k] = 1.0
    rhs = np.concatenate([-g_F, [0.0]])
    sol = np.linalg.lstsq(A, rhs, rcond=None)[0]
    p = sol[:k]
    return p - p.mean()  # keep Σp = 0 exactly despite rounding


def mgda_weights_from_gram(K: Tensor) -> Tensor:
    """Exact MGDA weights λ (M,) from the Gram K = G Gᵀ (M×M); dtype/device of K.

    All-zero K (all gradients zero) → uniform 1/M. Non-finite K → ValueError.

    >>> mgda_weights_from_gram(torch.tensor([[1.0, -1.0], [-1.0, 4.0]])).tolist()
    [0.7142857313156128, 0.2857142984867096]
    """
    Kn, nonzero = normalized_gram(K)
    m = Kn.shape[0]
    if not nonzero or m == 1:
        lam = uniform(m)
    else:
        lam = torch.from_numpy(solve_simplex_qp(Kn.cpu().numpy()))
    return lam.to(dtype=K.dtype, device=K.device)


def mgda_weights(G: Tensor) -> Tensor:
    """Exact MGDA weights λ (M,) for the rows of G (M×P): argmin_{λ∈Δ} ‖Gᵀλ‖²; dtype/device of G.

    The Gram is formed in float64 (G·1e15 or G·1e-10 give the same λ).

    >>> mgda_weights(torch.tensor([[1.0, 0.0], [0.0, 2.0]])).tolist()
    [0.800000011920929, 0.20000000298023224]
    """
    G64 = G.detach().reshape(G.shape[0], -1).to(torch.float64)
    return mgda_weights_from_gram(G64 @ G64.T).to(dtype=G.dtype)
