"""Statistics of a prepared data directory (``soups data stats DIR --json``).

Output: ``{lang: {split: {"utterances", "hours", "speakers", "genders", "skipped": {reason: n}}}}``; items
skipped before a split was known (e.g. Common Voice rows that are in no CoVoST split) are reported under a
top-level ``"skipped"`` key ``{lang: {reason: n}}``, present only when there are such items.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from soups.data.manifests import list_manifests, load_cuts, load_skips

UNASSIGNED = "?"


def split_stats(path: Path) -> dict:
    """Utterances, hours, distinct speakers and gender counts of one manifest (read lazily)."""
    n, seconds, speakers, genders = 0, 0.0, set(), Counter()
    for cut in load_cuts(path):
        n += 1
        seconds += cut.duration
        for sup in cut.supervisions[:1]:
            if sup.speaker:
                speakers.add(sup.speaker)
            genders[sup.gender or "unknown"] += 1
    return {"utterances": n, "hours": round(seconds / 3600, 4), "speakers": len(speakers),
            "genders": dict(sorted(genders.items()))}


def data_stats(data_dir: str | Path) -> dict:
    skips = load_skips(data_dir).to_dict()["by_group"]
    out: dict = {}
    for lang, splits in list_manifests(data_dir).items():
        for split, path in splits.items():
            out.setdefault(lang, {})[split] = {**split_stats(path), "skipped": skips.get(lang, {}).get(split, {})}
    for lang, splits in skips.items():
        for split, counts in splits.items():
            if split == UNASSIGNED:
                out.setdefault("skipped", {})[lang] = counts
            elif split not in out.get(lang, {}):  # every item of that split was skipped
                out.setdefault(lang, {})[split] = {"utterances": 0, "hours": 0.0, "speakers": 0,
                                                   "genders": {}, "skipped": counts}
    return out


def format_stats(stats: dict) -> str:
    """A plain-text table of :func:`data_stats`."""
    lines = [f"{'lang':<5} {'split':<12} {'utts':>8} {'hours':>8} {'spk':>5}  skipped"]
    for lang, splits in sorted(stats.items()):
        if lang == "skipped":
            continue
        for split, s in sorted(splits.items()):
            skipped = ", ".join(f"{k}={v}" for k, v in s["skipped"].items()) or "-"
            lines.append(f"{lang:<5} {split:<12} {s['utterances']:>8} {s['hours']:>8.3f} {s['speakers']:>5}  {skipped}")
    for lang, counts in sorted(stats.get("skipped", {}).items()):
        lines.append(f"{lang:<5} {'(no split)':<12} {'':>8} {'':>8} {'':>5}  "
                     + ", ".join(f"{k}={v}" for k, v in counts.items()))
    return "\n".join(lines)
