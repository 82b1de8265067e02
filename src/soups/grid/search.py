"""Static-weight search by dev score (the "static" and "linear" baselines).

A phase (or a single-phase recipe) with ``weight_search`` trains one short run per candidate weighting,
scores each on the dev set (the trainer's selection score: average WER − average BLEU, lower is better,
from the final dev evaluation in its ``log.jsonl``) and keeps the best for every seed of the recipe::

    weight_search:
      by: lang                    # lang | task | objective (see soups.grid.weights)
      candidates:                 # explicit weightings …
        - {en: 1, fr: 1, de: 1, es: 1, ca: 1}
        - {en: 0.18, fr: 0.19, de: 0.27, es: 0.16, ca: 0.20}     # the paper's
      random: {count: 4, seed: 0, alpha: 1.0}   # … and/or Dirichlet draws over the keys (optional)
      steps: 0.5                  # per candidate: share of the phase's steps (float) or steps (int); default 1.0
      normalize: true
      seed: 0                     # the seed whose cell runs the search (default 0)

Runs live in ``RUNS/<recipe>/weight-search/<phase>/cand<k>/`` (each resumable); the choice is written to
``RUNS/<recipe>/weight-search/<phase>/result.json`` and reused by every seed. The search belongs to one seed's
cell (``seed``): its candidates train with that seed and start from that cell's checkpoint (``init_from``),
under that cell's lock — so the choice does not depend on which seed a grid happened to reach first, and two
grid processes never run one search. Another seed's cell that finds no choice yet fails with a message saying
which seed to run first (and is run again by the next ``soups grid``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from soups.atomic import atomic_write_text
from soups.errors import ConfigError
from soups.grid.weights import BY, weight_key

SEARCH_KEYS = ("by", "candidates", "random", "steps", "normalize", "seed")


def search_dir(out: Path, slug: str, phase: str) -> Path:
    return Path(out) / slug / "weight-search" / phase


def stored_choice(out: Path, slug: str, phase: str) -> dict | None:
    """The weights chosen earlier (``{by, values, normalize}``), or None."""
    path = search_dir(out, slug, phase) / "result.json"
    return json.loads(path.read_text())["weights"] if path.is_file() else None


def candidates(spec, objectives: list[dict], key: str) -> tuple[str, list[dict[str, float]], bool]:
    """``(by, candidate value mappings, normalize)`` of a search spec for these objectives."""
    if not isinstance(spec, dict):
        raise ConfigError(key, f"expected a mapping with {', '.join(SEARCH_KEYS)}, got {spec!r}")
    for k in spec:
        if k not in SEARCH_KEYS:
            raise ConfigError(f"{key}.{k}", "unknown key", choices=SEARCH_KEYS)
    by = spec.get("by", "lang")
    if by not in BY:
        raise ConfigError(f"{key}.by", f"invalid value {by!r}", choices=BY)
    keys = list(dict.fromkeys(weight_key(o, by) for o in objectives))
    cands = [dict(c) for c in spec.get("candidates") or []]
    rnd = spec.get("random")
    if rnd is not None:
        if not isinstance(rnd, dict) or not isinstance(rnd.get("count"), int) or rnd["count"] < 1:
            raise ConfigError(f"{key}.random", "expected {count: N >= 1, seed: S, alpha: A}")
        rng = np.random.default_rng(int(rnd.get("seed", 0)))
        for draw in rng.dirichlet([float(rnd.get("alpha", 1.0))] * len(keys), size=rnd["count"]):
            cands.append({k: round(float(v), 4) for k, v in zip(keys, draw)})
    if not cands:
        raise ConfigError(key, "no candidates (give candidates and/or random)")
    for i, c in enumerate(cands):
        missing = [k for k in keys if k not in c]
        if missing:
            raise ConfigError(f"{key}.candidates[{i}]", f"no weight for {by} {missing}", choices=keys)
    return by, cands, bool(spec.get("normalize", True))


def candidate_steps(spec: dict, phase_steps: int, key: str) -> int:
    value = spec.get("steps", 1.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{key}.steps", f"expected steps (int) or a share of the phase (float), got {value!r}")
    return int(value) if isinstance(value, int) else max(1, round(value * phase_steps))


def search_seed(spec: dict, key: str) -> int:
    """The seed whose cell runs the search (``seed``, default 0)."""
    value = spec.get("seed", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{key}.seed", f"expected the seed (int >= 0) whose cell runs the search, got {value!r}")
    return value


def dev_score(exp: Path) -> float:
    """The trainer's selection score (average WER − average BLEU) at the last dev evaluation of a run."""
    last = None
    for line in (exp / "log.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if any(k.startswith("dev/average_") for k in rec):
            last = rec
    if last is None:
        raise ConfigError(str(exp / "log.jsonl"), "no dev evaluation logged: a weight search needs supervised "
                          "objectives with a dev score")
    return last.get("dev/average_wer", 0.0) - last.get("dev/average_bleu", 0.0)


def run_search(plan_for, run_phase, out: Path, slug: str, spec, echo=print) -> dict:
    """Run (or resume) the search of one phase; returns the chosen ``{by, values, normalize}``.

    ``plan_for(weights)`` builds the phase plan with those weights; ``run_phase(plan)`` trains it.
    """
    base = plan_for(None)
    key = f"phases[{spec.name}].weight_search"
    by, cands, normalize = candidates(spec.weight_search, [dataclasses.asdict(o) for o in base.cfg.objectives], key)
    steps = candidate_steps(spec.weight_search, spec.steps, key)
    folder = search_dir(out, slug, spec.name)
    scores = []
    for k, values in enumerate(cands):
        weights = {"by": by, "values": values, "normalize": normalize}
        plan = plan_for(weights)
        plan.cfg.train.max_steps = steps
        plan = dataclasses.replace(plan, exp_dir=folder / f"cand{k}")
        echo(f"    weight search {spec.name}: candidate {k + 1}/{len(cands)} {values}")
        run_phase(plan)
        scores.append(dev_score(plan.exp_dir))
    best = min(range(len(cands)), key=lambda k: (scores[k], k))
    weights = {"by": by, "values": cands[best], "normalize": normalize}
    result = {"phase": spec.name, "steps": steps, "seed": base.cfg.train.seed, "candidates": cands,
              "scores": scores, "best": best,
              "weights": weights, "score": "dev average WER - average BLEU (lower is better)"}
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "result.json", json.dumps(result, indent=1))
    echo(f"    weight search {spec.name}: best candidate {best + 1} {cands[best]} (dev score {scores[best]:.2f})")
    return weights
