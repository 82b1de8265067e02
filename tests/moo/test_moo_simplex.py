"""Simplex projection: on the simplex, idempotent, closest point, equivariance, shift invariance."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from soups.moo import project_simplex

FAST = settings(max_examples=60, deadline=None)
vectors = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=8)


def _on_simplex(x, atol=1e-9):
    return bool((x >= 0).all()) and abs(float(x.sum()) - 1.0) < atol


@FAST
@given(vectors)
def test_result_on_simplex_and_idempotent(v):
    x = project_simplex(torch.tensor(v, dtype=torch.float64))
    assert _on_simplex(x)
    assert torch.allclose(project_simplex(x), x, atol=1e-12)


@FAST
@given(vectors, st.integers(0, 2**31 - 1))
def test_closest_point(v, seed):
    v = torch.tensor(v, dtype=torch.float64)
    x = project_simplex(v)
    gen = torch.Generator().manual_seed(seed)
    e = -torch.log(torch.rand(64, len(v), generator=gen, dtype=torch.float64))  # Dirichlet(1) samples
    q = torch.cat([e / e.sum(-1, keepdim=True), torch.eye(len(v), dtype=torch.float64)])
    assert (((v - q) ** 2).sum(-1) >= ((v - x) ** 2).sum() - 1e-9).all()


@FAST
@given(vectors, st.randoms(use_true_random=False))
def test_permutation_equivariance(v, rnd):
    v = torch.tensor(v, dtype=torch.float64)
    perm = list(range(len(v)))
    rnd.shuffle(perm)
    perm = torch.tensor(perm)
    assert torch.allclose(project_simplex(v[perm]), project_simplex(v)[perm], atol=1e-12)


@FAST
@given(vectors, st.floats(-1e3, 1e3))
def test_shift_invariance(v, c):
    v = torch.tensor(v, dtype=torch.float64)
    assert torch.allclose(project_simplex(v + c), project_simplex(v), atol=1e-9)


def test_known_values_and_kkt_form():
    assert torch.allclose(project_simplex(torch.tensor([0.4, 0.25])), torch.tensor([0.575, 0.425]))
    x = project_simplex(torch.tensor([1 / 3, 1 / 3, -2 / 3], dtype=torch.float64))
    assert torch.allclose(x, torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64))
    assert project_simplex(torch.tensor([7.0])).item() == 1.0
    assert torch.equal(project_simplex(torch.tensor([0.2, 0.3, 0.5])), torch.tensor([0.2, 0.3, 0.5]))


def test_batched_dtype_device_and_extreme_values():
    v = torch.randn(5, 3, 4, dtype=torch.float32)
    x = project_simplex(v)
    assert x.dtype == torch.float32 and x.shape == v.shape
    for row in x.reshape(-1, 4):
        assert torch.allclose(row, project_simplex(row.double()).float())
        assert _on_simplex(row.double(), 1e-6)
    huge = project_simplex(torch.tensor([1e30, -1e30, 1e30]))
    assert torch.allclose(huge, torch.tensor([0.5, 0.0, 0.5]))
    tiny = project_simplex(torch.tensor([1e-30, 2e-30], dtype=torch.float64))
    assert torch.allclose(tiny, torch.tensor([0.5, 0.5], dtype=torch.float64))
    half = project_simplex(torch.tensor([3.0, 1.0], dtype=torch.float16))
    assert half.dtype == torch.float16 and half.tolist() == [1.0, 0.0]
