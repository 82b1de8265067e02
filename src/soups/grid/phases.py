"""Multi-phase runs: each phase is an ordinary run of the trainer; a phase that starts from an earlier one
gets ``train.init_from`` (that phase's final checkpoint) and ``train.freeze`` in its config (see
:mod:`soups.train.init`), and all phases of a cell share one set of tokenizers and CMVN statistics.
"""

from __future__ import annotations

import shutil
from pathlib import Path


SHARED_FILES = ("tokenizers.json", "cmvn.json")


def share_files(source: Path, dest: Path) -> None:
    """Copy the tokenizers and CMVN of ``source`` into ``dest`` (unless already there): every phase of a
    cell normalises features and tokenizes text the same way, so heads and encoder carry over."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in SHARED_FILES:
        if source != dest and not (dest / name).is_file():
            shutil.copyfile(source / name, dest / name)
