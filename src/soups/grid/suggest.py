"""``soups suggest-hierarchy DIR``: a VM-MSP level assignment from measured gradient conflicts (the paper's
recipe, Appendix C: "objectives whose cosine similarity is below a threshold are optimized at different
levels"; SSL, aligned with the others, at the lowest level).

    soups conflicts runs/grid/VS/seed0 --steps 50 --out runs/conflicts
    soups suggest-hierarchy runs/conflicts                                  # -> runs/conflicts/hierarchy.yaml
    soups suggest-hierarchy runs/conflicts --config configs/demo.yaml --prefer st --threshold -0.05

Steps (deterministic; each printed with its numbers):

1. conflicting supervised pairs: mean cosine (whole encoder) below ``threshold`` (default 0);
2. supervised levels: complete-linkage clustering of the distance 1 − cos cut at 1 − threshold, so no
   level holds a conflicting pair and mutually aligned objectives share one (all aligned → one level);
3. level order: the level with the largest share of ASR objectives first (the paper's UAS, best WER), or of
   translation objectives with ``--prefer st`` (USA, best BLEU); ties by size, then name;
4. SSL at the lowest level when it is aligned with the supervised objectives; when it conflicts with some
   or all of them this is said (a warning when it conflicts with all) and it stays lowest — the paper's
   default placement, where the smallest penalty weighs it;
5. penalties as in the paper: +0.02/epoch, cap 1.5; a supervised level below the first starts at 0.1, the
   SSL level at 0; layers whose objectives conflict are listed (candidates for ``moo.mode: layers``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import yaml

from soups.errors import ConfigError, DataError


def cosine_array(matrix) -> np.ndarray:
    """A JSON matrix (``None`` where never defined) as a float array with NaN."""
    return np.array([[np.nan if v is None else float(v) for v in row] for row in matrix], dtype=np.float64)


def entry_cosine(entry: dict) -> np.ndarray:
    """The cosine matrix of one ``conflicts.json`` entry (model or layer): the file's chosen statistic
    (``cosine``; files written before it existed hold only the per-step ``mean_cosine``)."""
    return cosine_array(entry["cosine"] if "cosine" in entry else entry["mean_cosine"])


def mds_2d(dist: np.ndarray) -> np.ndarray:
    """Classical multidimensional scaling of a distance matrix into 2-D (deterministic signs)."""
    n = len(dist)
    if n < 2:
        return np.zeros((n, 2))
    j = np.eye(n) - np.ones((n, n)) / n
    b = -0.5 * j @ (dist ** 2) @ j
    vals, vecs = np.linalg.eigh((b + b.T) / 2)
    order = np.argsort(vals)[::-1][:2]
    xy = vecs[:, order] * np.sqrt(np.clip(vals[order], 0, None))
    signs = np.sign(xy[np.argmax(np.abs(xy), axis=0), range(xy.shape[1])])
    return xy * np.where(signs == 0, 1, signs)


def cluster_labels(cos: np.ndarray, method: str = "complete", min_cosine: float = 0.0) -> list[int]:
    """Hierarchical clusters of 1 − cos cut at 1 − ``min_cosine`` (complete linkage: every pair inside a
    cluster has cos ≥ min_cosine). Undefined cosines count as 0. Labels 0, 1, … by first member."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    n = len(cos)
    if n == 1:
        return [0]
    dist = 1.0 - np.nan_to_num(cos, nan=0.0)
    dist = np.clip((dist + dist.T) / 2, 0.0, 2.0)
    np.fill_diagonal(dist, 0.0)
    raw = fcluster(linkage(squareform(dist, checks=False), method=method), t=1.0 - min_cosine + 1e-9,
                   criterion="distance")
    first = {}
    return [first.setdefault(c, len(first)) for c in raw]


@dataclass
class Suggestion:
    levels: list[list[str]]
    formulation: str
    penalties: list[dict]
    reasoning: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def hierarchy(self) -> dict:
        out = {"formulation": self.formulation, "levels": self.levels, "weighting": "modo"}
        if self.penalties:
            out["penalties"] = self.penalties
        return out


def _fmt_pairs(pairs) -> str:
    return ", ".join(f"{a}/{b} {c:+.3f}" for a, b, c in pairs)


def _supervised_levels(names, cos, threshold, prefer, tasks, say) -> list[list[str]]:
    n = len(names)
    pairs = sorted(((names[i], names[j], cos[i, j]) for i in range(n) for j in range(i + 1, n)
                    if not np.isnan(cos[i, j]) and cos[i, j] < threshold), key=lambda p: p[2])
    undefined = [(names[i], names[j]) for i in range(n) for j in range(i + 1, n) if np.isnan(cos[i, j])]
    say(f"1. conflicting supervised pairs (cos < {threshold:g}): " + (_fmt_pairs(pairs[:12]) if pairs else "none")
        + (f" … and {len(pairs) - 12} more" if len(pairs) > 12 else ""))
    if undefined:
        say(f"   never measured (zero gradient at every step), counted as cos 0: {undefined}")
    labels = cluster_labels(cos, "complete", threshold) if n else []
    groups = [[names[i] for i in range(n) if labels[i] == c] for c in sorted(set(labels))]
    say(f"2. {len(groups)} supervised level(s) by complete-linkage clustering (no conflicting pair inside a level):")
    for g in groups:
        idx = [names.index(x) for x in g]
        inside = [cos[i, j] for i in idx for j in idx if i < j and not np.isnan(cos[i, j])]
        say(f"   {g}: mean cos inside {np.mean(inside):+.3f}" if inside else f"   {g}")
    kind = "asr" if prefer == "asr" else "st"

    def rank(g):
        return (-sum(tasks[x] == kind for x in g) / len(g), -len(g), g[0])

    ordered = sorted(groups, key=rank)
    if len(ordered) > 1:
        why = "UAS: best WER in the paper" if kind == "asr" else "USA: best BLEU in the paper"
        say(f"3. order: most {kind.upper()} objectives first ({why}); "
            + " > ".join(str(g) for g in ordered))
        for a in range(len(ordered) - 1):
            cross = [cos[names.index(x), names.index(y)] for x in ordered[a] for y in ordered[a + 1]]
            say(f"   cross-level mean cos between levels {a + 1} and {a + 2}: {np.nanmean(cross):+.3f}")
    else:
        say("3. order: a single supervised level")
    return ordered


def _place_ssl(ssl: str, sup: list[str], names: list[str], cos: np.ndarray, threshold: float, say, warn) -> None:
    i = names.index(ssl)
    vals = {s: cos[i, names.index(s)] for s in sup}
    known = {s: v for s, v in vals.items() if not np.isnan(v)}
    if not known:
        warn(f"the cosine of {ssl} with the supervised objectives was never measured: kept at the lowest level "
             "(the paper's default placement)")
        return
    bad = sorted((s for s, v in known.items() if v < threshold), key=lambda s: known[s])
    mean = float(np.mean(list(known.values())))
    if not bad:
        say(f"4. {ssl} is aligned with every supervised objective (min cos {min(known.values()):+.3f}, mean "
            f"{mean:+.3f}): lowest level, as in the paper")
    elif len(bad) == len(known):
        warn(f"{ssl} conflicts with every supervised objective (mean cos {mean:+.3f}): it is kept at the lowest "
             "level — the paper's default placement, where the smallest penalty weighs it — but it pulls against "
             "all of them; consider a slower penalty schedule or leaving it out")
    else:
        say(f"4. {ssl} conflicts with {bad} but is aligned with the others (mean cos {mean:+.3f}): kept at the "
            "lowest level (the paper's default placement; its penalty keeps it weak)")


def _penalties(num_sup: int, has_ssl: bool) -> list[dict]:
    out = [{"initial": 0.1, "increase": 0.02, "cap": 1.5, "unit": "epoch"} for _ in range(num_sup - 1)]
    if has_ssl:
        out.append({"initial": 0.0, "increase": 0.02, "cap": 1.5, "unit": "epoch"})
    return out


def _layer_notes(data: dict, sup_idx: list[int], threshold: float, say) -> None:
    conflicting = []
    for layer in data.get("layer_order") or list(data.get("layers", {})):
        cos = entry_cosine(data["layers"][layer])[np.ix_(sup_idx, sup_idx)]
        off = cos[~np.eye(len(sup_idx), dtype=bool)]
        off = off[~np.isnan(off)]
        if off.size and off.min() < threshold:
            conflicting.append(f"{layer} (min {off.min():+.3f})")
    if conflicting:
        say("5. layers where supervised objectives conflict: " + ", ".join(conflicting)
            + " — candidates for layer-wise selection (moo.mode: layers)")
    else:
        say("5. no layer has conflicting supervised objectives")


def suggest(data: dict, threshold: float = 0.0, prefer: str = "asr") -> Suggestion:
    """Levels from the ``conflicts.json`` data (see the module docstring)."""
    if prefer not in ("asr", "st"):
        raise ConfigError("--prefer", f"invalid value {prefer!r}", choices=["asr", "st"])
    names = list(data["names"])
    tasks = {o["name"]: o["task"] for o in data["objectives"]}
    cos = entry_cosine(data["model"])
    if cos.shape != (len(names), len(names)):
        raise DataError(f"the whole-model matrix is {cos.shape}, expected {len(names)}x{len(names)}")
    reasoning, warnings = [], []
    say, warn = reasoning.append, (lambda w: (warnings.append(w), reasoning.append("WARNING: " + w)))
    ssl = [n for n in names if tasks.get(n) == "ssl"]
    sup = [n for n in names if n not in ssl]
    say(f"{len(names)} objectives ({len(sup)} supervised, SSL: {ssl or 'none'}); mean gradient cosines over "
        f"{data.get('steps', '?')} steps, whole shared encoder; conflict threshold {threshold:g}")
    idx = [names.index(n) for n in sup]
    levels = _supervised_levels(sup, cos[np.ix_(idx, idx)], threshold, prefer, tasks, say) if sup else []
    if len(ssl) > 1:
        raise DataError(f"more than one SSL objective: {ssl}")
    if ssl:
        _place_ssl(ssl[0], sup, names, cos, threshold, say, warn)
        levels = levels + [ssl]
    else:
        say("4. no SSL objective: no penalty level below the supervised ones")
    if idx:
        _layer_notes(data, idx, threshold, say)
    formulation = "vs" if len(levels) == 1 else "vm"
    if len(levels) == 2 and ssl:
        say("one supervised level above SSL: VM-MSP with two levels, i.e. the VC-MSP structure")
    penalties = _penalties(len(levels) - len(ssl), bool(ssl)) if len(levels) > 1 else []
    say(f"levels (top first): {levels}")
    return Suggestion(levels, formulation, penalties, reasoning, warnings)


def snippet(s: Suggestion, source: str, threshold: float) -> str:
    head = [f"# suggested by `soups suggest-hierarchy` from {source} (threshold {threshold:g})"]
    head += [f"# {line}" for line in s.reasoning]
    body = yaml.safe_dump({"moo": {"hierarchy": s.hierarchy()}}, sort_keys=False, default_flow_style=None,
                          width=100)
    return "\n".join(head) + "\n" + body


def full_config(s: Suggestion, config: Path) -> tuple[dict, list[str]]:
    """The base config with ``moo.hierarchy`` replaced (and ``moo.mode`` faithful if it was linear); checked."""
    from soups.moo.hierarchy import Hierarchy, HierarchyConfig
    from soups.train.config import load_config

    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    notes = []
    moo = data.setdefault("moo", {})
    moo["hierarchy"] = s.hierarchy()
    if moo.get("mode", "linear") == "linear":
        moo["mode"] = "faithful"
        notes.append("moo.mode set to faithful (linear mode would ignore MoDo)")
    try:
        cfg = load_config(None, [], data=json.loads(json.dumps(data)))
        names = [o.name for o in cfg.objectives]
        Hierarchy(HierarchyConfig.from_dict(cfg.moo.hierarchy, key="moo.hierarchy"), names,
                  ssl=[o.name for o in cfg.objectives if o.task == "ssl"], key="moo.hierarchy")
    except ConfigError as err:
        raise ConfigError(f"{config}: {err.key}", f"{err.message} (do the measured objectives match this "
                          "config's?)", err.choices) from None
    return data, notes


def write_suggestion(folder: str | Path, config: str | Path | None = None, out: str | Path | None = None,
                     threshold: float = 0.0, prefer: str = "asr", echo=print) -> Suggestion:
    """Read ``folder/conflicts.json``, print the reasoning, write ``hierarchy.yaml``, ``suggestion.json`` and,
    with a base ``config``, ``config.yaml`` (into ``out``, default ``folder``)."""
    folder = Path(folder)
    path = folder / "conflicts.json"
    if not path.is_file():
        raise DataError("no conflicts.json here (run: soups conflicts EXP --steps N --out DIR)", path=folder)
    s = suggest(json.loads(path.read_text()), threshold, prefer)
    out = Path(out) if out is not None else folder
    out.mkdir(parents=True, exist_ok=True)
    for line in s.reasoning:
        echo(line)
    text = snippet(s, str(path), threshold)
    (out / "hierarchy.yaml").write_text(text)
    (out / "suggestion.json").write_text(json.dumps(asdict(s), indent=1))
    echo(f"wrote {out / 'hierarchy.yaml'}")
    if config is not None:
        data, notes = full_config(s, Path(config))
        for n in notes:
            echo(n)
        header = f"# {config} with the hierarchy suggested from {path}\n"
        (out / "config.yaml").write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        echo(f"wrote {out / 'config.yaml'}")
    return s
