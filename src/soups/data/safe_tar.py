"""Safe, idempotent extraction of ``.tar.gz`` archives (AISHELL-1 ships one archive per speaker).

Safety: only regular files are extracted, and only inside the target directory. A member with an absolute
path, a ``..`` component, or a path that resolves outside the target (through an existing symlink) is a
``path_escape``; a symbolic or hard link is never extracted (``path_escape`` when it points outside the
target, ``unsafe_member`` otherwise), and neither are devices or fifos (``unsafe_member``). File modes are
not copied (no setuid bits). Each problem is counted in the :class:`~soups.data.skips.SkipLog`, or raised as a
:class:`~soups.errors.DataError` naming the archive and the member in strict mode.

Atomicity: members are first written to a staging directory inside the target; only when the whole archive
has been read are they moved into place. A corrupt or truncated archive (``corrupt_archive``) therefore
leaves nothing behind.

Idempotence: a marker ``<target>/.soups-extracted/<archive>.json`` records the archive's size and mtime and the
members skipped; a second run with an unchanged archive extracts nothing and reports the same skips again.

>>> log = SkipLog()
>>> report = extract_archive("data_aishell/wav/S0002.tar.gz", "data_aishell/wav", log)  # doctest: +SKIP
>>> report.files, report.reused                                                         # doctest: +SKIP
(360, False)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from soups.data.skips import SkipLog

MARKER_DIR = ".soups-extracted"
STAGING_PREFIX = ".soups-extract-"
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass
class ExtractReport:
    """What one archive gave: files extracted (or already there), members skipped, whether reused."""

    archive: str
    files: int = 0
    skipped: int = 0
    reused: bool = False
    ok: bool = True


def _escapes(name: str, dest: Path) -> str | None:
    """Why a member path is unsafe, or None."""
    if not name or name.startswith(("/", "\\")) or _DRIVE.match(name) or PurePosixPath(name).is_absolute():
        return f"absolute path {name!r}"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return f"'..' in member path {name!r}"
    if not (dest / name).resolve().is_relative_to(dest.resolve()):
        return f"member {name!r} resolves outside {dest}"
    return None


def check_member(member: tarfile.TarInfo, dest: Path) -> tuple[str | None, str]:
    """``(skip reason or None, message)`` for one member; directories come back as ``(None, "dir")``."""
    why = _escapes(member.name, dest)
    if why is not None:
        return "path_escape", why
    if member.issym() or member.islnk():
        kind = "symlink" if member.issym() else "hard link"
        base = (dest / member.name).parent if member.issym() else dest
        target = member.linkname
        if target.startswith("/") or _DRIVE.match(target) or \
                not (base / target).resolve().is_relative_to(dest.resolve()):
            return "path_escape", f"{kind} {member.name!r} -> {target!r} points outside {dest}"
        return "unsafe_member", f"{kind} {member.name!r} -> {target!r} (links are not extracted)"
    if member.isdir():
        return None, "dir"
    if not member.isfile():
        return "unsafe_member", f"member {member.name!r} is not a regular file (device or fifo)"
    return None, ""


def _marker_path(archive: Path, dest: Path) -> Path:
    return dest / MARKER_DIR / f"{archive.name}.json"


def _fingerprint(archive: Path) -> dict:
    st = archive.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _replay(marker: dict, archive: Path, skips: SkipLog, lang: str | None) -> ExtractReport:
    for reason, message in marker.get("skipped", []):
        skips.skip(reason, archive, None, message, lang=lang)
    return ExtractReport(str(archive), marker.get("files", 0), len(marker.get("skipped", [])), reused=True)


def _read_members(archive: Path, dest: Path, staging: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Stream the archive into ``staging``; returns (extracted relative paths, [(reason, message)])."""
    names: list[str] = []
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            reason, message = check_member(member, dest)
            if reason is not None:
                problems.append((reason, message))
                continue
            if message == "dir":
                continue
            rel = PurePosixPath(member.name.replace("\\", "/")).as_posix()  # "./a//b" -> "a/b"
            if rel in seen:
                problems.append(("duplicate_id", f"member {member.name!r} appears twice"))
                continue
            seen.add(rel)
            out = staging / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(member)
            with open(out, "wb") as f:
                shutil.copyfileobj(src, f)
            names.append(rel)
    return names, problems


def extract_archive(archive: str | Path, dest: str | Path, skips: SkipLog, lang: str | None = None) -> ExtractReport:
    """Extract the regular files of one ``.tar.gz`` into ``dest`` (see the module docstring)."""
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    marker_path = _marker_path(archive, dest)
    if marker_path.is_file():
        marker = json.loads(marker_path.read_text())
        if marker.get("fingerprint") == _fingerprint(archive):
            return _replay(marker, archive, skips, lang)
    staging = dest / f"{STAGING_PREFIX}{archive.name}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        try:
            names, problems = _read_members(archive, dest, staging)
        except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
            skips.skip("corrupt_archive", archive, None, f"cannot read archive: {type(err).__name__}: {err} "
                       "(nothing extracted from it)", lang=lang)
            return ExtractReport(str(archive), ok=False)
        for reason, message in problems:
            skips.skip(reason, archive, None, message, lang=lang)
        for rel in names:
            target = dest / rel
            if not target.parent.resolve().is_relative_to(dest.resolve()):  # re-checked at move time
                skips.skip("path_escape", archive, None, f"member {rel!r} would land outside {dest}", lang=lang)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / rel, target)
        marker_path.parent.mkdir(exist_ok=True)
        tmp = marker_path.with_name(marker_path.name + ".tmp")
        tmp.write_text(json.dumps({"fingerprint": _fingerprint(archive), "files": len(names),
                                   "skipped": [list(p) for p in problems]}, ensure_ascii=False))
        tmp.replace(marker_path)
        return ExtractReport(str(archive), len(names), len(problems))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def extract_all(directory: str | Path, skips: SkipLog, dest: str | Path | None = None,
                lang: str | None = None) -> list[ExtractReport]:
    """Extract every ``*.tar.gz`` directly in ``directory`` (sorted) into ``dest`` (default: ``directory``)."""
    directory = Path(directory)
    dest = Path(dest) if dest is not None else directory
    return [extract_archive(a, dest, skips, lang) for a in sorted(directory.glob("*.tar.gz"))]
