"""Statistics of a prepared data directory (``soups data stats DIR --json``).

Output: ``{lang: {split: {...}}}`` with, per split, ``utterances``, ``hours``, ``speakers``, ``genders``,
``skipped`` ({reason: n}) and the *lexical density* of the transcripts (normalised as ASR scores them;
characters for Chinese):

* ``word_types`` / ``word_tokens`` — distinct words and running words;
* ``word_count_min`` / ``word_count_median`` — how often a word type of the split occurs in it (for a
  training split: how many times the model hears each word it must learn);
* ``oov_rate`` — share of running words that occur in no training split of the language (splits whose name
  starts with ``train``); ``None`` for training splits and where there is no training split;
* ``translation`` — the same five keys for the translations (CoVoST 2 and the built-in corpus), when present.

Items skipped before a split was known (e.g. Common Voice rows that are in no CoVoST split) are reported
under a top-level ``"skipped"`` key ``{lang: {reason: n}}``, present only when there are such items.

>>> density([["le", "chat"], ["le", "chien"]], train=None)["word_count_median"]
1.0
"""

from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path

from soups.data.languages import CER_LANGS
from soups.data.manifests import list_manifests, load_cuts, load_skips
from soups.data.text import normalize_asr

UNASSIGNED = "?"
TRAIN_PREFIX = "train"


def words_of(text: str, lang: str | None) -> list[str]:
    """The words of a transcript as ASR scores it (characters for CER languages such as Chinese)."""
    norm = normalize_asr(text or "", lang or "")
    return list(norm) if lang in CER_LANGS else norm.split()


def density(counts: Counter | list[list[str]], train: Counter | None) -> dict:
    """Density keys of one split from its word counts (or its tokenised sentences); ``train``: the training
    vocabulary's counts for the OOV rate (None: no OOV rate)."""
    if not isinstance(counts, Counter):
        counts = Counter(w for sentence in counts for w in sentence)
    tokens = sum(counts.values())
    oov = None
    if train is not None and tokens:
        oov = round(sum(n for w, n in counts.items() if w not in train) / tokens, 4)
    values = sorted(counts.values())
    return {"word_types": len(counts), "word_tokens": tokens,
            "word_count_min": values[0] if values else 0,
            "word_count_median": float(statistics.median(values)) if values else 0.0,
            "oov_rate": oov}


def _split_scan(path: Path) -> tuple[dict, Counter, Counter]:
    """Utterances, hours, speakers, genders of one manifest (read lazily), and its word counts
    (transcripts, translations)."""
    n, seconds, speakers, genders = 0, 0.0, set(), Counter()
    words, translated = Counter(), Counter()
    for cut in load_cuts(path):
        n += 1
        seconds += cut.duration
        for sup in cut.supervisions[:1]:
            if sup.speaker:
                speakers.add(sup.speaker)
            genders[sup.gender or "unknown"] += 1
            words.update(words_of(sup.text, sup.language))
            custom = sup.custom or {}
            if custom.get("translation"):
                translated.update(words_of(custom["translation"], custom.get("translation_lang")))
    base = {"utterances": n, "hours": round(seconds / 3600, 4), "speakers": len(speakers),
            "genders": dict(sorted(genders.items()))}
    return base, words, translated


def _lang_stats(splits: dict[str, Path]) -> dict[str, dict]:
    scans = {split: _split_scan(path) for split, path in splits.items()}
    train_words, train_trans = Counter(), Counter()
    for split, (_, words, translated) in scans.items():
        if split.startswith(TRAIN_PREFIX):
            train_words.update(words)
            train_trans.update(translated)
    out = {}
    for split, (base, words, translated) in scans.items():
        is_train = split.startswith(TRAIN_PREFIX)
        out[split] = {**base, **density(words, None if is_train or not train_words else train_words)}
        if translated:
            out[split]["translation"] = density(translated, None if is_train or not train_trans else train_trans)
    return out


def data_stats(data_dir: str | Path) -> dict:
    skips = load_skips(data_dir).to_dict()["by_group"]
    out: dict = {}
    for lang, splits in list_manifests(data_dir).items():
        for split, stats in _lang_stats(splits).items():
            out.setdefault(lang, {})[split] = {**stats, "skipped": skips.get(lang, {}).get(split, {})}
    for lang, splits in skips.items():
        for split, counts in splits.items():
            if split == UNASSIGNED:
                out.setdefault("skipped", {})[lang] = counts
            elif split not in out.get(lang, {}):  # every item of that split was skipped
                out.setdefault(lang, {})[split] = {"utterances": 0, "hours": 0.0, "speakers": 0, "genders": {},
                                                   **density(Counter(), None), "skipped": counts}
    return out


def format_stats(stats: dict) -> str:
    """A plain-text table of :func:`data_stats` (types: word types; med: median occurrences of a type)."""
    lines = [f"{'lang':<5} {'split':<12} {'utts':>8} {'hours':>8} {'spk':>5} {'types':>7} {'med':>6} {'oov%':>6}"
             "  skipped"]
    for lang, splits in sorted(stats.items()):
        if lang == "skipped":
            continue
        for split, s in sorted(splits.items()):
            skipped = ", ".join(f"{k}={v}" for k, v in s["skipped"].items()) or "-"
            oov = "-" if s.get("oov_rate") is None else f"{100 * s['oov_rate']:.1f}"
            lines.append(f"{lang:<5} {split:<12} {s['utterances']:>8} {s['hours']:>8.3f} {s['speakers']:>5} "
                         f"{s.get('word_types', 0):>7} {s.get('word_count_median', 0):>6g} {oov:>6}  {skipped}")
    for lang, counts in sorted(stats.get("skipped", {}).items()):
        lines.append(f"{lang:<5} {'(no split)':<12} {'':>8} {'':>8} {'':>5} {'':>7} {'':>6} {'':>6}  "
                     + ", ".join(f"{k}={v}" for k, v in counts.items()))
    return "\n".join(lines)
