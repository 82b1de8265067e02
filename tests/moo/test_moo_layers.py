"""Layer-wise conflict selection: the conflicting block gets per-layer MoDo weights, every other
block still gets the static hierarchy weights."""

import pytest
import torch

from soups.errors import ConfigError
from soups.moo import GramInfo, Hierarchy, LayerSelector, MoDo, conflict_score, layer_grams

EARLY1 = torch.tensor([[1.0, 0.0], [-1.0, 0.5]], dtype=torch.float64)  # cos < 0: conflicting
LATE1 = torch.tensor([[1.0, 1.0, 0.0], [0.5, 1.0, 0.2]], dtype=torch.float64)  # aligned


def _blocks(noise=0.1):
    gen = torch.Generator().manual_seed(0)
    b1 = {"early": EARLY1, "late": LATE1}
    b2 = {k: v + noise * torch.randn(v.shape, generator=gen, dtype=torch.float64) for k, v in b1.items()}
    return b1, b2


def test_two_block_selection_and_weights():
    b1, b2 = _blocks()
    grams = layer_grams(b1, b2)
    sel = LayerSelector(Hierarchy.single_level(["x", "y"], "modo"))
    assert sel.select(grams) == {"early"}
    ref = MoDo(2)
    for _ in range(3):  # the conflicting layer's own λ persists and advances
        w = sel.weights(grams)
        assert torch.allclose(w["early"], ref.update(b1["early"], b2["early"]), atol=1e-12)
        assert w["late"].tolist() == [0.5, 0.5]  # static weights: the layer is still updated
        d_late = w["late"] @ ((b1["late"] + b2["late"]) / 2)
        assert d_late.norm() > 0.5
    assert sel.weights_for("late").tolist() == [0.5, 0.5]
    with pytest.raises(ValueError):
        sel.weights_for("early")  # a conflicting layer needs its Gram


def test_hierarchy_penalties_apply_per_layer():
    names = ["a", "b", "u"]
    h = Hierarchy({"formulation": "vc"}, names, ssl=["u"])
    sel = LayerSelector(h)
    G = torch.tensor([[1.0, 0.0], [-1.0, 0.2], [0.5, 0.5]], dtype=torch.float64)
    sel.select({"conv": GramInfo.from_jacobians(G), "ffn": torch.ones(3, 3)})
    assert sel.selected == {"conv"}
    w = sel.weights_for("conv", GramInfo.from_jacobians(G, G), epoch=25)
    lam = MoDo(2).update(G[:2], G[:2])
    assert w.tolist() == pytest.approx([*lam.tolist(), 0.5])  # η = 0.02·25
    assert sel.weights_for("ffn", epoch=25).tolist() == pytest.approx([0.5, 0.5, 0.5])


def test_rules_threshold_and_degenerate_layers():
    # cosines: (1,2) = −0.2, (1,3) and (2,3) clearly positive: min < 0 but mean > 0
    G = torch.tensor([[1.0, 0.0], [-0.2, 0.98], [0.6, 0.8]], dtype=torch.float64)
    K = G @ G.T
    assert conflict_score(K, "min") < 0 < conflict_score(K, "mean")
    h = Hierarchy.single_level(["a", "b", "c"])
    assert LayerSelector(h, rule="min").select({"l": K}) == {"l"}
    assert LayerSelector(h, rule="mean").select({"l": K}) == set()
    assert LayerSelector(h, rule="mean", threshold=0.9).select({"l": K}) == {"l"}
    zero = LayerSelector(h).select({"dead": torch.zeros(3, 3), "one": torch.diag(torch.tensor([1.0, 0, 0]))})
    assert zero == set()  # cosines undefined: never "conflicting"
    assert conflict_score(torch.ones(1, 1)) is None
    assert LayerSelector(h).select_from_blocks({"l": G}) == {"l"}


def test_errors_and_state_dict():
    h = Hierarchy.single_level(["x", "y"])
    with pytest.raises(ConfigError) as err:
        LayerSelector(h, rule="max")
    assert err.value.key == "moo.layer_selection.rule"
    with pytest.raises(ConfigError) as err:
        LayerSelector(h, threshold=2.0)
    assert err.value.key == "moo.layer_selection.threshold"
    b1, b2 = _blocks()
    grams = layer_grams(b1, b2)
    a = LayerSelector(h)
    a.select(grams)
    a.weights(grams)
    b = LayerSelector(Hierarchy.single_level(["x", "y"]))
    b.load_state_dict(a.state_dict())
    assert b.selected == {"early"}
    assert torch.equal(a.weights(grams)["early"], b.weights(grams)["early"])


def test_accumulated_statistic_selects_from_the_sum_of_the_probes():
    """Two probes whose gradients conflict one way then the other: each probe alone looks conflicting, the
    paper's statistic (cosine of the summed gradients) does not; a layer whose mean gradients conflict
    stays selected even when one noisy probe looks aligned."""
    h = Hierarchy.single_level(["x", "y"])
    noisy = [torch.tensor([[1.0, 2.0], [-0.5, 2.0]], dtype=torch.float64),   # cos > 0
             torch.tensor([[1.0, -2.0], [-0.5, -2.0]], dtype=torch.float64)]  # cos > 0; sum: [2, 0] vs [-1, 0]
    flip = [torch.tensor([[1.0, 1.0], [1.0, -1.2]], dtype=torch.float64),     # cos < 0
            torch.tensor([[1.0, -1.0], [1.0, 1.2]], dtype=torch.float64)]     # cos < 0; sum: [2, 0] vs [2, 0]
    acc, per = LayerSelector(h), LayerSelector(h, statistic="per_step")
    for k in range(2):
        picked_acc = acc.select_from_blocks({"noisy": noisy[k], "flip": flip[k]})
        picked_per = per.select_from_blocks({"noisy": noisy[k], "flip": flip[k]})
    assert picked_per == {"flip"}                 # the last probe alone
    assert picked_acc == {"noisy"}                # the sums: [2, 0]·[-1, 0] < 0 and [2, 0]·[2, 0] > 0
    assert acc.scores["noisy"] == pytest.approx(-1.0) and acc.scores["flip"] == pytest.approx(1.0)
    back = LayerSelector(h)
    back.load_state_dict(acc.state_dict())        # the running sums survive a checkpoint
    third = {"noisy": torch.tensor([[0.0, 1.0], [0.0, 1.0]], dtype=torch.float64),
             "flip": torch.tensor([[0.0, 1.0], [0.0, 1.0]], dtype=torch.float64)}
    assert back.select_from_blocks(third) == acc.select_from_blocks(third)
    assert back.scores == pytest.approx(acc.scores)
    with pytest.raises(ConfigError) as err:
        LayerSelector(h, statistic="median")
    assert err.value.key == "moo.layer_selection.statistic"


def _stream(selector, blocks: dict) -> frozenset:
    """Feed one probe's rows (layer -> M×P) through the streamed path: one row and parameter at a time."""
    sketches = selector.probe_sketches(list(blocks))
    for name, G in blocks.items():
        for m, row in enumerate(G):
            for i, part in enumerate(row.split(max(1, len(row) // 3))):   # several "parameters" per layer
                sketches[name].add_row(m, i, part, sample=0)
    return selector.select_from_sketches(sketches)


def test_streamed_probes_estimate_the_accumulated_statistic():
    """Count-sketched probes (``sketch_k``): the accumulated sums are M×k, and their cosines estimate the exact
    accumulated ones (error ~1/√k) — the same selection on the example above, and on random layers whose
    exact scores are far from the threshold; the sums survive a checkpoint."""
    h = Hierarchy.single_level(["x", "y", "z"])
    gen = torch.Generator().manual_seed(3)
    base = torch.randn(3, 3000, generator=gen, dtype=torch.float64)
    conflict = torch.stack([base[0], -0.8 * base[0] + 0.6 * base[1], base[2]])  # cos(x, y) = -0.8
    aligned = torch.stack([base[0], base[0] + 0.3 * base[1], base[0] + 0.3 * base[2]])
    exact, sk = LayerSelector(h), LayerSelector(h, sketch_k=4096, seed=7)
    for _ in range(3):
        probe = {n: G + 0.2 * torch.randn(G.shape, generator=gen, dtype=torch.float64)
                 for n, G in (("conflict", conflict), ("aligned", aligned))}
        picked_exact = exact.select_from_blocks(probe)
        picked_sketch = _stream(sk, probe)
    assert picked_exact == picked_sketch == {"conflict"}
    assert sk.sums["conflict"].shape == (3, 4096)
    for name in ("conflict", "aligned"):
        assert sk.scores[name] == pytest.approx(exact.scores[name], abs=0.1)
    back = LayerSelector(h, sketch_k=4096, seed=7)
    back.load_state_dict(sk.state_dict())
    more = {"conflict": conflict, "aligned": aligned}
    assert _stream(back, more) == _stream(sk, more)
    assert back.scores == pytest.approx(sk.scores)
    with pytest.raises(ConfigError) as err:
        LayerSelector(h, sketch_k=-1)
    assert err.value.key == "moo.layer_selection.probe_sketch_k"
