"""Errors meant for users: the CLI prints them as one clear message, never as a traceback.

Every error says *where* the problem is: a file and line for data, a dotted key for configs.
"""

from __future__ import annotations

from pathlib import Path


class SoupsError(Exception):
    """Base class of all user-facing errors."""


class DataError(SoupsError):
    """Bad input data, located by file (and line when it comes from a text file).

    >>> str(DataError("wrong number of fields (3, expected 4)", path="cv/fr/validated.tsv", line=12))
    'cv/fr/validated.tsv:12: wrong number of fields (3, expected 4)'
    """

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.message, self.path, self.line = message, path, line
        where = "" if path is None else (f"{path}:{line}: " if line is not None else f"{path}: ")
        super().__init__(where + message)


class ConfigError(SoupsError):
    """A bad configuration value, located by its dotted key (``train.max_steps``)."""

    def __init__(self, key: str, message: str, choices: list | tuple | None = None):
        self.key, self.message, self.choices = key, message, choices
        text = f"config key '{key}': {message}"
        if choices:
            text += f" (valid choices: {', '.join(map(str, choices))})"
        super().__init__(text)


class CheckpointError(SoupsError):
    """A missing, corrupt, unsafe or incompatible checkpoint."""


class BusyError(SoupsError):
    """A directory another soups process is writing (it holds the directory's lock)."""

    def __init__(self, path: str | Path, holder: str):
        self.path, self.holder = Path(path), holder
        super().__init__(f"{path}: in use by another soups process ({holder}); wait for it to finish, stop it, "
                         "or choose another --out")
