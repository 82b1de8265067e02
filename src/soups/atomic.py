"""Atomic file writes: a reader (or a resumed run) sees the old file or the new one, never a torn one.

``write`` fills a temporary file next to the target, which is fsynced and then renamed over it (``os.replace``
is atomic on POSIX and Windows). Temporary files are named ``.<name>.<pid>.<random>.tmp``; a process killed
mid-write leaves one behind, which :func:`remove_stale_temporaries` deletes (``--resume`` calls it).

Fault injection (the reliability tests): with ``SOUPS_FAULT_KILL_AT_WRITE=N`` in the environment the process
SIGKILLs itself during its N-th atomic write, after the temporary file is written and before the rename.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "config.yaml"
>>> atomic_write_text(p, "a: 1\\n"); p.read_text()
'a: 1\\n'
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Callable

TMP_SUFFIX = ".tmp"
_writes = 0   # atomic writes of this process (fault injection counts them)


def _fault_point() -> None:
    global _writes
    _writes += 1
    if os.environ.get("SOUPS_FAULT_KILL_AT_WRITE") == str(_writes):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``path``, fsync it, then ``os.replace`` it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}{TMP_SUFFIX}"
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        _fault_point()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename durable (not possible on every platform)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def remove_stale_temporaries(directory: str | Path) -> list[Path]:
    """Delete the ``.<name>.<pid>.<random>.tmp`` files a killed writer left in ``directory``; returns them.
    Only for a directory no other process is writing to (a resumed experiment's own folders)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    stale = [p for p in directory.iterdir() if p.name.startswith(".") and p.name.endswith(TMP_SUFFIX) and p.is_file()]
    for p in stale:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    return stale
