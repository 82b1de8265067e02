"""One writer per experiment directory: an advisory lock held while a run writes into it.

Two processes training into the same directory would interleave their logs and checkpoints, and a resume
removes the temporary files of an interrupted write — which, with a second live writer, are that writer's
files in flight. :func:`hold` takes ``DIR/.lock`` with ``flock`` (exclusive, non-blocking); the kernel
drops it when the holder exits, however it dies (SIGKILL included), so a stale lock never blocks a resume.
The file records the holder (pid, host, start time) for the error message; the lock is the ``flock``, not
the file's existence. Holding is re-entrant within a process (the grid runner holds a cell, whose last phase
trains in the same directory). ``flock`` is local to a machine: on network file systems that do not
support it, two machines are not kept apart.

>>> import tempfile
>>> d = tempfile.mkdtemp()
>>> with hold(d):
...     with hold(d):          # re-entrant in one process
...         holder(d) is not None
True
>>> holder(d) is None
True
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from soups.errors import BusyError

LOCK_NAME = ".lock"
_held: dict[Path, list] = {}   # resolved directory -> [fd, depth], the locks this process holds


@contextlib.contextmanager
def hold(directory: str | Path) -> Iterator[None]:
    """Hold ``directory``'s lock for the ``with`` block; :class:`BusyError` if another process holds it."""
    key = Path(directory).resolve()
    if key in _held:
        _held[key][1] += 1
        try:
            yield
        finally:
            _held[key][1] -= 1
        return
    key.mkdir(parents=True, exist_ok=True)
    fd = os.open(key / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        text = _read(fd)
        os.close(fd)
        raise BusyError(directory, text or "holder unknown") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}"
              .encode(), 0)
    _held[key] = [fd, 1]
    try:
        yield
    finally:
        del _held[key]
        os.close(fd)   # closing the descriptor drops the flock


def holder(directory: str | Path) -> str | None:
    """Who holds ``directory``'s lock (its record), or None when nobody does (this process included)."""
    key = Path(directory).resolve()
    if key in _held:
        return _read(_held[key][0])
    path = key / LOCK_NAME
    if not path.is_file():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return _read(fd) or "holder unknown"
    else:
        return None
    finally:
        os.close(fd)


def _read(fd: int) -> str:
    return os.pread(fd, 512, 0).decode(errors="replace").strip()
