"""VS/VC/VM hierarchies: the paper's update formulas (the paper's Eqs. 5, 7, 8/25; docs/method.md) on small known
gradients, static variant, penalty schedules, presets, validation errors, state, toy convergence."""

import pytest
import torch

from soups.errors import ConfigError
from soups.moo import GramInfo, Hierarchy, HierarchyConfig, MoDo, PenaltySchedule, mgda_weights, preset_levels

NAMES = ["a", "b", "c", "e", "u"]  # u is the SSL objective


def _grads(seed=0, m=5, p=3):
    gen = torch.Generator().manual_seed(seed)
    G1 = torch.randn(m, p, generator=gen, dtype=torch.float64)
    return G1, G1 + 0.2 * torch.randn(m, p, generator=gen, dtype=torch.float64)


def test_vs_is_modo_over_everything_eq5():
    G1, G2 = _grads()
    h = Hierarchy({"formulation": "vs"}, NAMES, ssl=["u"])
    ref = MoDo(5)
    for _ in range(3):
        w = h.weights(GramInfo.from_jacobians(G1, G2))
        lam = ref.update(G1, G2)
        assert torch.allclose(w, lam, atol=1e-12)  # d = Σ λ g over supervised and SSL (Eq. 5/13)
    assert h.levels == [NAMES] and h.schedules == []


def test_vc_modo_on_supervised_plus_eta_ssl_eq7():
    G1, G2 = _grads(1)
    h = Hierarchy({"formulation": "vc"}, NAMES, ssl=["u"])
    assert h.levels == [["a", "b", "c", "e"], ["u"]]
    ref = MoDo(4)
    for epoch in (0, 10, 100):
        w = h.weights(GramInfo.from_jacobians(G1, G2), epoch=epoch)
        lam = ref.update(G1[:4], G2[:4])
        eta = min(1.5, 0.02 * epoch)  # VC η: 0 → +0.02/epoch → 1.5
        d = w @ ((G1 + G2) / 2)
        expected = lam @ ((G1[:4] + G2[:4]) / 2) + eta * (G1[4] + G2[4]) / 2  # Eq. 7/15
        assert torch.allclose(d, expected, atol=1e-12)


def test_vm_nested_formula_eq8_25():
    G1, G2 = _grads(2)
    G = (G1 + G2) / 2
    levels = [["a", "b"], ["c", "e"], ["u"]]
    h = Hierarchy({"formulation": "vm", "levels": levels}, NAMES, ssl=["u"])
    top, mid = MoDo(2), MoDo(2)
    for epoch in (0, 5, 80):
        w = h.weights(GramInfo.from_jacobians(G1, G2), epoch=epoch)
        eta1, eta2 = min(1.5, 0.1 + 0.02 * epoch), min(1.5, 0.02 * epoch)
        l1, l2 = top.update(G1[:2], G2[:2]), mid.update(G1[2:4], G2[2:4])
        # d = Σ_{lvl1} λ g + η1 (Σ_{lvl2} λ g + η2 ∇l_u)   (docs/method.md; Eq. 25 with η = η1·η2)
        expected = l1 @ G[:2] + eta1 * (l2 @ G[2:4] + eta2 * G[4])
        assert torch.allclose(w @ G, expected, atol=1e-12)
        assert h.level_scales(epoch) == pytest.approx([1.0, eta1, eta1 * eta2])


def test_vm_any_number_of_levels_and_order_of_objectives():
    h = Hierarchy({"formulation": "vm", "levels": [["e"], ["a"], ["c", "b"], ["u"]], "weighting": "linear",
                   "penalties": [{"initial": 0.5, "increase": 0, "cap": 0.5}] * 3}, NAMES, ssl=["u"])
    w = h.weights(GramInfo(torch.eye(5)))
    assert w.tolist() == pytest.approx([0.5, 0.125, 0.125, 1.0, 0.125])  # a, b, c, e, u
    single = Hierarchy({"formulation": "vm", "levels": [NAMES]}, NAMES, ssl=["u"])
    assert single.schedules == [] and single.num_objectives == 5


def test_static_variant_and_needs_cross():
    h = Hierarchy({"formulation": "vm", "levels": [["a", "b"], ["c", "e"], ["u"]]}, NAMES, ssl=["u"])
    s = h.static()
    assert h.needs_cross and not s.needs_cross
    eta1, eta2 = 0.1 + 0.2, 0.2
    expected = [0.5, 0.5, eta1 / 2, eta1 / 2, eta1 * eta2]
    assert s.static_weights(epoch=10).tolist() == pytest.approx(expected)
    assert s.weights(GramInfo(torch.eye(5)), epoch=10).tolist() == pytest.approx(expected)
    assert h.static_weights(epoch=10).tolist() == pytest.approx(expected)


def test_penalty_schedule_values_and_units():
    vc = PenaltySchedule(0.0, 0.02, 1.5)
    assert [vc.value(e) for e in (0, 10, 75, 200)] == pytest.approx([0.0, 0.2, 1.5, 1.5])
    per_step = PenaltySchedule(0.1, 0.001, 0.2, unit="step")
    assert per_step.value(epoch=50, step=30) == pytest.approx(0.13)
    assert per_step.value(epoch=0, step=10**6) == 0.2


@pytest.mark.parametrize("penalty,key", [
    ({"initial": -0.1}, "moo.penalties[0].initial"), ({"increase": -0.02}, "moo.penalties[0].increase"),
    ({"initial": 0.5, "cap": 0.2}, "moo.penalties[0].cap"), ({"cap": -1.0}, "moo.penalties[0].cap"),
    ({"unit": "batch"}, "moo.penalties[0].unit"), ({"rate": 0.1}, "moo.penalties[0].rate"),
    ({"initial": "x"}, "moo.penalties[0].initial"),
])
def test_penalty_errors(penalty, key):
    with pytest.raises(ConfigError) as err:
        Hierarchy({"formulation": "vc", "penalties": [penalty]}, NAMES, ssl=["u"])
    assert err.value.key == key


@pytest.mark.parametrize("config,key", [
    ({"formulation": "vm", "levels": [["a", "b"], ["c", "zz"], ["e", "u"]]}, "moo.levels[1]"),
    ({"formulation": "vm", "levels": [["a", "b"], ["b", "c"], ["e", "u"]]}, "moo.levels[1]"),
    ({"formulation": "vm", "levels": [["a", "b", "c"], [], ["e", "u"]]}, "moo.levels[1]"),
    ({"formulation": "vm", "levels": [["a", "b"], ["c", "u"]]}, "moo.levels"),  # e in no level
    ({"formulation": "vm"}, "moo.levels"),
    ({"formulation": "vm", "levels": "xyz"}, "moo.levels"),
    ({"formulation": "vm", "levels": [["a", "b"], ["c", "e"], ["u"]], "penalties": [{}]}, "moo.penalties"),
    ({"formulation": "vs", "levels": [["a", "b"], ["c", "e", "u"]]}, "moo.levels"),
    ({"formulation": "mtl"}, "moo.formulation"),
    ({"formulation": "vs", "weighting": "nash"}, "moo.weighting"),
    ({"formulation": "vs", "modo": {"gamma": 0}}, "moo.modo.gamma"),
    ({"formulation": "vs", "levles": []}, "moo.levles"),
    ({"formulation": "vm", "levels": ["abc"]}, "moo.levels"),
])
def test_level_and_config_errors(config, key):
    with pytest.raises(ConfigError) as err:
        Hierarchy(config, NAMES, ssl=["u"])
    assert err.value.key == key


def test_vc_needs_ssl_and_ignored_keys():
    with pytest.raises(ConfigError) as err:
        Hierarchy({"formulation": "vc"}, ["a", "b"])
    assert err.value.key == "moo.formulation"
    cfg = HierarchyConfig.from_dict({"formulation": "vs", "layer_selection": {}}, ignore=["layer_selection"])
    assert cfg.formulation == "vs"


def test_ssl_not_lowest_warns():
    with pytest.warns(UserWarning, match="SSL objective 'u'"):
        Hierarchy({"formulation": "vm", "levels": [["a", "u"], ["b", "c", "e"]]}, NAMES, ssl=["u"])


def test_presets_from_tags():
    names = ["asr_en", "asr_fr", "st_fr_en", "asr_zh", "st_zh_en", "ssl"]
    tags = {"asr_en": {"task": "asr", "language": "en"}, "asr_fr": {"task": "asr", "language": "fr"},
            "st_fr_en": {"task": "st", "language": "fr"}, "asr_zh": {"task": "ASR", "language": "zh"},
            "st_zh_en": {"task": "s2tt", "lang": "zh"}, "ssl": {"task": "ssl"}}  # "lang" works too
    assert preset_levels("uas", names, tags, ssl=["ssl"]) == [["asr_en", "asr_fr", "asr_zh"],
                                                              ["st_fr_en", "st_zh_en"], ["ssl"]]
    assert preset_levels("usa", names, tags, ssl=["ssl"])[0] == ["st_fr_en", "st_zh_en"]
    en_zh = ["asr_en", "asr_zh", "st_zh_en", "ssl"]
    assert preset_levels("uec", en_zh, tags, ssl=["ssl"]) == [["asr_en"], ["asr_zh", "st_zh_en"], ["ssl"]]
    assert preset_levels("uce", en_zh, tags, ssl=["ssl"]) == [["asr_zh", "st_zh_en"], ["asr_en"], ["ssl"]]
    h = Hierarchy({"formulation": "vm", "levels": "uas"}, names, ssl=["ssl"], tags=tags)
    assert h.levels[-1] == ["ssl"] and len(h.schedules) == 2
    with pytest.raises(ConfigError, match="fits no level"):
        preset_levels("uec", names, tags, ssl=["ssl"])  # French fits neither English nor Chinese
    with pytest.raises(ConfigError, match="needs objective tags"):
        Hierarchy({"formulation": "vm", "levels": "uas"}, names, ssl=["ssl"])
    tags["gender_en"] = {"task": "gender", "lang": "en"}
    with pytest.raises(ConfigError) as err:  # an extra task has no place in UAS: explicit levels needed
        Hierarchy({"formulation": "vm", "levels": "uas"}, [*names, "gender_en"], ssl=["ssl"], tags=tags,
                  key="moo.hierarchy")
    assert err.value.key == "moo.hierarchy.levels"


def test_state_dict_roundtrip():
    G1, G2 = _grads(3)
    cfg = {"formulation": "vm", "levels": [["a", "b"], ["c", "e"], ["u"]]}
    h, k = Hierarchy(cfg, NAMES, ssl=["u"]), Hierarchy(cfg, NAMES, ssl=["u"])
    info = GramInfo.from_jacobians(G1, G2)
    h.weights(info)
    k.load_state_dict(h.state_dict())
    assert torch.equal(h.weights(info, epoch=3), k.weights(info, epoch=3))
    other = Hierarchy({"formulation": "vm", "levels": [["a", "c"], ["b", "e"], ["u"]]}, NAMES, ssl=["u"])
    with pytest.raises(ValueError):
        other.load_state_dict(h.state_dict())


def _run(eta, steps=800, lr=0.2):
    """Level 1: f1 = ½(x0−1)² + ½(x1−1)², f2 = ½(x0+1)² + ½(x1−1)² (conflict on x0, MoDo);
    lower level (VC penalty η): f_u = ½x1² + ½x2², its optimum x1 = x2 = 0."""
    def grads(x):
        return torch.stack([torch.stack([x[0] - 1, x[1] - 1, 0 * x[2]]),
                            torch.stack([x[0] + 1, x[1] - 1, 0 * x[2]]),
                            torch.stack([0 * x[0], x[1], x[2]])])
    sched = {"initial": eta, "increase": 0.0, "cap": eta}
    h = Hierarchy({"formulation": "vc", "penalties": [sched], "modo": {"gamma": 0.05}}, ["f1", "f2", "u"], ssl=["u"])
    x = torch.tensor([3.0, -2.0, 2.0], dtype=torch.float64)
    for _ in range(steps):
        G = grads(x)
        x = x - lr * h.weights(GramInfo.from_jacobians(G, G)) @ G
    G = grads(x)
    return x, (mgda_weights(G[:2]) @ G[:2]).norm().item(), G[2].norm().item()


def test_toy_hierarchy_upper_optimal_lower_near_optimal():
    x, upper_gap, _ = _run(eta=0.0)
    assert upper_gap < 1e-9  # without penalty: level 1 Pareto-stationary, the lower level is ignored
    assert x[2].item() == pytest.approx(2.0)
    gaps = {}
    for eta in (0.05, 0.2):
        x, upper_gap, g_u = _run(eta)
        # fixed point: Σλ g_level1 = −η ∇l_u, so level 1 is Pareto-stationary up to η‖∇l_u‖
        assert upper_gap <= eta * g_u + 1e-9
        assert abs(x[2].item()) < 0.01  # the lower level's free coordinate reaches its optimum
        assert x[1].item() == pytest.approx(1 / (1 + eta), abs=1e-6)  # ε-constraint trade-off on x1
        gaps[eta] = upper_gap
    assert gaps[0.05] < gaps[0.2]


def test_options_must_be_mappings():
    with pytest.raises(ConfigError) as err:
        Hierarchy({"formulation": "vs", "modo": 0.1}, NAMES, ssl=["u"])
    assert err.value.key == "moo.modo"
    h = Hierarchy({"formulation": "vs", "weighting_options": {"gamma": 0.2}, "modo": {"rho": 0.0}}, NAMES)
    assert (h.weightings[0].gamma, h.weightings[0].rho) == (0.2, 0.0)
    assert h.describe(epoch=1)["levels"] == [NAMES]
