"""Counting what is skipped, so that nothing is ever dropped silently.

Readers and pipelines report every rejected item to a :class:`SkipLog`. In strict mode the first problem
raises a :class:`~soups.errors.DataError` naming the file and line; otherwise the item is skipped and counted
by reason (and by language/split), shown in a summary line and stored with the prepared data.

>>> log = SkipLog(strict=False)
>>> log.skip("missing_clip", "cv/fr/validated.tsv", 7, "clips/a.mp3 not found", lang="fr", split="train")
>>> log.counts()
{'missing_clip': 1}
>>> log.summary()
'skipped 1 item: missing_clip=1'
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from soups.errors import DataError

log = logging.getLogger(__name__)

# Every reason a data item can be skipped for. A reason outside this list is a programming error.
REASONS = (
    "missing_clip",       # the audio file a row points to does not exist
    "unreadable_audio",   # the file exists but cannot be decoded (corrupt, empty, wrong format)
    "empty_transcript",   # no text to learn from
    "bad_row",            # a TSV row with the wrong number of fields, or a non-UTF-8 line
    "path_escape",        # a path that leaves the corpus root (absolute, '..')
    "no_translation",     # a source row without an entry in the CoVoST TSV (only on one side of the join)
    "no_audio_row",       # a CoVoST row whose clip has no validated.tsv entry (only on one side of the join)
    "unknown_split",      # a split name we do not know
    "duplicate_id",       # the same utterance id twice
    "too_short_for_ctc",  # fewer encoder frames (after x4 subsampling) than the CTC target needs
    "no_transcript",      # audio without a transcript (corpora with separate transcript files)
    "no_audio",           # a transcript without audio
    "language_without_data",  # a requested language whose files are missing
    "missing_part",       # a requested corpus part (e.g. a LibriSpeech part directory) is missing
    "corrupt_archive",    # a .tar.gz that cannot be read to its end (nothing of it is extracted)
    "unsafe_member",      # an archive member that is not a regular file (link, device, fifo): not extracted
    "too_short",          # unlabeled audio too short to give one encoder frame after x4 subsampling
    "too_long_for_backbone",  # longer than a pretrained backbone's fixed input window (Whisper: 30 s)
)


@dataclass
class SkipLog:
    """Skipped items by reason; raises instead when ``strict``.

    ``examples`` keeps the first few located messages per reason for the report.
    """

    strict: bool = False
    max_examples: int = 3
    by_reason: Counter = field(default_factory=Counter)
    by_group: dict = field(default_factory=dict)  # (lang, split) -> Counter of reasons
    examples: dict = field(default_factory=dict)

    def skip(self, reason: str, path: str | Path | None, line: int | None, message: str,
             lang: str | None = None, split: str | None = None) -> None:
        """Record one skipped item (or raise :class:`DataError` in strict mode)."""
        if reason not in REASONS:
            raise ValueError(f"unknown skip reason {reason!r}")
        if self.strict:
            raise DataError(f"{message} [{reason}; pass without --strict to skip and count such items]", path, line)
        self.by_reason[reason] += 1
        self.by_group.setdefault((lang or "?", split or "?"), Counter())[reason] += 1
        where = str(DataError(message, path, line))
        examples = self.examples.setdefault(reason, [])
        if len(examples) < self.max_examples:
            examples.append(where)
        log.debug("skipped (%s): %s", reason, where)

    def counts(self) -> dict[str, int]:
        return dict(sorted(self.by_reason.items()))

    def total(self) -> int:
        return sum(self.by_reason.values())

    def summary(self) -> str:
        n = self.total()
        if n == 0:
            return "skipped 0 items"
        parts = ", ".join(f"{r}={c}" for r, c in sorted(self.by_reason.items()))
        return f"skipped {n} item{'s' if n != 1 else ''}: {parts}"

    def merge(self, other: "SkipLog") -> None:
        self.by_reason.update(other.by_reason)
        for key, counter in other.by_group.items():
            self.by_group.setdefault(key, Counter()).update(counter)
        for reason, ex in other.examples.items():
            mine = self.examples.setdefault(reason, [])
            mine.extend(ex[: max(0, self.max_examples - len(mine))])

    def to_dict(self) -> dict:
        """JSON-ready: ``{"total", "by_reason", "by_group": {lang: {split: {reason: n}}}, "examples"}``."""
        groups: dict = {}
        for (lang, split), counter in sorted(self.by_group.items()):
            groups.setdefault(lang, {})[split] = dict(sorted(counter.items()))
        return {"total": self.total(), "by_reason": self.counts(), "by_group": groups,
                "examples": {k: list(v) for k, v in sorted(self.examples.items())}}

    @classmethod
    def from_dict(cls, d: dict) -> "SkipLog":
        out = cls()
        out.by_reason.update(d.get("by_reason", {}))
        for lang, splits in d.get("by_group", {}).items():
            for split, counter in splits.items():
                out.by_group[(lang, split)] = Counter(counter)
        out.examples = {k: list(v) for k, v in d.get("examples", {}).items()}
        return out
