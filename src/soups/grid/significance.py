"""Paired bootstrap resampling (Koehn 2004) of corpus WER/CER and BLEU between two systems.

Each utterance contributes sufficient statistics — WER: (edits, reference words); BLEU: sacrebleu's
per-segment n-gram statistics (``BLEU._extract_corpus_statistics``, the machinery of its ``paired_bs``
test) — and a resample draws utterances with replacement, *the same ones for both systems*. Several
objectives (languages) are strata: each is resampled on its own and the statistic is the mean over strata of
the corpus metric, i.e. the tables' "Average" row. Utterances of several seeds are pooled (seed s of system
A paired with seed s of system B).

p-value (one-sided, H0: A is not better than B) = share of resamples in which A is not better, ties
counted half: ≈ 0 when A is clearly better, exactly 0.5 for identical outputs, ≈ 1 when A is worse.

>>> import numpy as np
>>> a = [np.array([[0, 5]] * 50 + [[1, 5]] * 50, dtype=float)]    # A: 50 edits in 500 words
>>> b = [np.array([[2, 5]] * 100, dtype=float)]                   # B: 200 edits in 500 words
>>> r = paired_bootstrap(a, b, wer_score, higher_better=False, samples=200)
>>> round(r["a"], 1), round(r["b"], 1), r["p"]
(10.0, 40.0, 0.0)
"""

from __future__ import annotations

import re

import jiwer
import numpy as np

_SPACES = re.compile(r"\s+")


def utterance_edits(refs: list[str], hyps: list[str], unit: str = "word", remove_spaces: bool = False) -> np.ndarray:
    """``(n, 2)`` array of per-utterance (edits, reference units), consistent with :mod:`soups.eval.metrics`
    (an empty reference: every hypothesis unit is an insertion, no reference units)."""
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    if remove_spaces:
        refs, hyps = [_SPACES.sub("", r) for r in refs], [_SPACES.sub("", h) for h in hyps]
    out = np.zeros((len(refs), 2), dtype=np.float64)
    keep = [i for i, r in enumerate(refs) if r.strip()]
    if keep:
        process = jiwer.process_words if unit == "word" else jiwer.process_characters
        res = process([refs[i] for i in keep], [hyps[i] for i in keep])
        for i, chunks, ref in zip(keep, res.alignments, res.references):
            edits = sum(max(c.ref_end_idx - c.ref_start_idx, c.hyp_end_idx - c.hyp_start_idx)
                        for c in chunks if c.type != "equal")
            out[i] = (edits, len(ref))
    for i, (r, h) in enumerate(zip(refs, hyps)):
        if not r.strip():
            out[i, 0] = len(h.split()) if unit == "word" else len(h.strip())
    return out


def wer_score(sums: np.ndarray) -> np.ndarray:
    """Corpus error rate in % from summed (edits, reference units) rows ``(B, 2)``."""
    edits, units = sums[:, 0], sums[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(units > 0, 100.0 * edits / np.maximum(units, 1), np.where(edits > 0, np.nan, 0.0))


def bleu_stats(refs: list[str], hyps: list[str]) -> np.ndarray:
    """``(n, 2 + 2·4)`` per-segment BLEU statistics (sacrebleu, default 13a tokenizer, as in the evaluation)."""
    from sacrebleu.metrics import BLEU

    stats = BLEU()._extract_corpus_statistics(list(hyps), [list(refs)])
    return np.asarray(stats, dtype=np.float64).reshape(len(refs), -1)


def bleu_score(sums: np.ndarray) -> np.ndarray:
    """Corpus BLEU of summed statistics rows ``(B, 10)`` (sacrebleu's own formula and smoothing)."""
    from sacrebleu.metrics import BLEU

    metric = BLEU()
    return np.array([metric._compute_score_from_stats([int(round(v)) for v in row]).score for row in sums])


def paired_bootstrap(a: list[np.ndarray], b: list[np.ndarray], score, higher_better: bool,
                     samples: int = 1000, seed: int = 0) -> dict:
    """Paired bootstrap of ``mean over strata of score(stratum sums)`` for systems A and B.

    ``a[s]``, ``b[s]``: per-utterance statistics of stratum s (same utterances, same order).
    Returns observed values, Δ = A − B, a 95 % percentile interval of Δ, and the p-value (see the module).
    """
    if len(a) != len(b) or not a:
        raise ValueError("need the same non-empty list of strata for both systems")
    rng = np.random.default_rng(seed)
    boot_a, boot_b = np.zeros(samples), np.zeros(samples)
    obs_a = obs_b = 0.0
    for sa, sb in zip(a, b):
        if sa.shape != sb.shape or len(sa) == 0:
            raise ValueError(f"strata must pair up utterance by utterance, got {sa.shape} and {sb.shape}")
        n = len(sa)
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=samples).astype(np.float64)
        obs_a += float(score(sa.sum(0, keepdims=True))[0])
        obs_b += float(score(sb.sum(0, keepdims=True))[0])
        boot_a += score(counts @ sa)
        boot_b += score(counts @ sb)
    k = len(a)
    diff = (boot_a - boot_b) / k
    better = diff if higher_better else -diff
    p = float((np.sum(better < 0) + 0.5 * np.sum(better == 0)) / samples)
    lo, hi = np.nanpercentile(diff, [2.5, 97.5])
    return {"a": obs_a / k, "b": obs_b / k, "delta": (obs_a - obs_b) / k, "ci95": [float(lo), float(hi)],
            "p": p, "samples": samples, "utterances": int(sum(len(s) for s in a)), "strata": k}


def _lines(cell_dir, results: dict, name: str, kind: str, split: str) -> list[str]:
    """One utterance per line: ``<cell>/eval/<split>/<name>.<kind>.txt`` (or the path in results.json)."""
    from pathlib import Path

    path = Path(cell_dir) / "eval" / split / f"{name}.{kind}.txt"
    if not path.is_file():
        path = Path(str(results["objectives"][name].get(kind, "")))
    if not path.is_file():
        raise FileNotFoundError(f"{name}.{kind}.txt of {cell_dir} not found")
    return path.read_text(encoding="utf-8").split("\n")[:-1]


def _stats(cell, name: str, split: str) -> tuple[np.ndarray, list[str]]:
    obj = cell.results["objectives"][name]
    refs, hyps = _lines(cell.dir, cell.results, name, "ref", split), _lines(cell.dir, cell.results, name, "hyp", split)
    if obj.get("metric") == "bleu":
        return bleu_stats(refs, hyps), refs
    cer = obj.get("metric") == "cer"
    return utterance_edits(refs, hyps, "char" if cer else "word", remove_spaces=cer), refs


KIND_METRICS = {"wer": ("wer", "cer"), "bleu": ("bleu",)}   # a comparison kind -> the objective metrics it pools


def compare_recipes(ref_cells: list, base_cells: list, kind: str, samples: int = 1000, seed: int = 0,
                    split: str = "test") -> tuple[dict | None, list[str]]:
    """Paired bootstrap of the reference recipe against a baseline on ``kind`` = ``wer`` (ASR objectives,
    CER ones included) or ``bleu`` (translation): strata = objectives both have, utterances pooled over the
    seeds both have. Returns ``(result or None, notes)``."""
    metrics = KIND_METRICS[kind]
    ref = {c.seed: c for c in ref_cells if c.ok}
    base = {c.seed: c for c in base_cells if c.ok}
    seeds = sorted(set(ref) & set(base))
    notes: list[str] = []
    if not seeds:
        return None, ["no seed evaluated for both"]
    names = [n for n, o in ref[seeds[0]].results["objectives"].items() if o.get("metric") in metrics
             and all(n in base[s].results["objectives"] and n in ref[s].results["objectives"] for s in seeds)]
    a_strata, b_strata, used = [], [], []
    for name in names:
        a_parts, b_parts = [], []
        try:
            for s in seeds:
                (sa, refs_a), (sb, refs_b) = _stats(ref[s], name, split), _stats(base[s], name, split)
                if refs_a != refs_b:
                    raise ValueError(f"seed {s}: the references differ (not the same test utterances)")
                a_parts.append(sa)
                b_parts.append(sb)
        except (OSError, ValueError, KeyError) as err:
            notes.append(f"{name} left out: {err}")
            continue
        a_strata.append(np.concatenate(a_parts))
        b_strata.append(np.concatenate(b_parts))
        used.append(name)
    if not a_strata:
        return None, notes + [f"no {kind} objective with hypotheses for both"]
    score = bleu_score if kind == "bleu" else wer_score
    result = paired_bootstrap(a_strata, b_strata, score, kind == "bleu", samples, seed)
    result.update(seeds=seeds, objectives=used)
    return result, notes
