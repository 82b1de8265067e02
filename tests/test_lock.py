"""soups.lock: one writer per directory — a second process is refused with the holder named, a killed holder
frees the directory, holding is re-entrant within a process and released on errors."""

from __future__ import annotations

import pytest

from soups.errors import BusyError
from soups.lock import hold, holder


def test_a_directory_held_by_another_process_is_refused_naming_the_holder(hold_elsewhere, tmp_path):
    proc = hold_elsewhere(tmp_path / "exp")
    assert holder(tmp_path / "exp").startswith(f"pid {proc.pid} on ")
    with pytest.raises(BusyError) as err:
        with hold(tmp_path / "exp"):
            pass
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "exp") in message and f"pid {proc.pid}" in message


def test_a_killed_holder_frees_the_directory(hold_elsewhere, tmp_path):
    proc = hold_elsewhere(tmp_path)
    proc.kill()   # SIGKILL: no cleanup ran; the kernel drops the flock, the stale file stays
    proc.wait()
    assert (tmp_path / ".lock").is_file() and holder(tmp_path) is None
    with hold(tmp_path):
        assert holder(tmp_path).startswith("pid ")


def test_holding_is_reentrant_and_released_on_an_error(tmp_path):
    (tmp_path / "exp").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "exp")
    with pytest.raises(RuntimeError):
        with hold(tmp_path / "exp"):
            with hold(tmp_path / "link"):   # the same directory by another path
                raise RuntimeError("boom")
    assert holder(tmp_path / "exp") is None
    with hold(tmp_path / "link"):
        assert holder(tmp_path / "exp") is not None
