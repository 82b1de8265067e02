"""Safe archive extraction: nothing escapes the target, corrupt archives leave nothing, second runs reuse."""

import os
import tarfile

import pytest

from soups.data.safe_tar import MARKER_DIR, extract_all, extract_archive
from soups.data.skips import SkipLog
from soups.errors import DataError
from tests.data.corpora_fixture import make_tar

OK = b"RIFF-not-really-a-wav-but-bytes"


def tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if MARKER_DIR not in p.parts)


@pytest.mark.parametrize("member,reason,text", [
    (("../evil.txt", OK), "path_escape", "'..'"),
    (("a/../../evil.txt", OK), "path_escape", "'..'"),
    (("/tmp/soups_test_abs_evil.txt", OK), "path_escape", "absolute path"),
    (("C:/evil.txt", OK), "path_escape", "absolute path"),
    (("a/link", "sym", "/etc/passwd"), "path_escape", "symlink"),
    (("a/link", "sym", "../../outside"), "path_escape", "points outside"),
    (("a/hard", "lnk", "../outside"), "path_escape", "hard link"),
    (("a/inner", "sym", "ok.txt"), "unsafe_member", "links are not extracted"),
    (("a/fifo", "fifo"), "unsafe_member", "not a regular file"),
])
def test_unsafe_members_are_counted_and_never_written(tmp_path, member, reason, text):
    archive = tmp_path / "in" / "x.tar.gz"
    make_tar(archive, [("a/ok.txt", OK), member])
    dest = tmp_path / "out" / "wav"
    log = SkipLog()
    report = extract_archive(archive, dest, log)
    assert log.counts() == {reason: 1} and report.files == 1 and report.skipped == 1
    assert text in log.examples[reason][0] and "x.tar.gz" in log.examples[reason][0]
    assert tree(dest) == ["a", "a/ok.txt"]                          # only the regular file, inside dest
    assert (dest / "a" / "ok.txt").read_bytes() == OK
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]  # nothing next to dest
    assert not os.path.exists("/tmp/soups_test_abs_evil.txt")


def test_strict_mode_names_archive_and_member(tmp_path):
    archive = tmp_path / "S1.tar.gz"
    make_tar(archive, [("a/ok.txt", OK), ("../../evil.txt", OK)])
    with pytest.raises(DataError) as err:
        extract_archive(archive, tmp_path / "wav", SkipLog(strict=True))
    assert err.value.path == archive and "'../../evil.txt'" in str(err.value) and "path_escape" in str(err.value)
    assert tree(tmp_path / "wav") == []          # nothing moved into place, staging removed


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_archive_extracts_nothing(tmp_path, damage):
    good = tmp_path / "good.tar.gz"
    make_tar(good, [("a/one.txt", OK * 1000), ("a/two.txt", os.urandom(200_000))])
    data = good.read_bytes()
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x1f\x8b" + os.urandom(500),
                         "empty": b""}[damage])
    dest = tmp_path / "wav"
    log = SkipLog()
    report = extract_archive(archive, dest, log)
    assert not report.ok and log.counts() == {"corrupt_archive": 1}
    assert "bad.tar.gz" in log.examples["corrupt_archive"][0]
    assert tree(dest) == []                      # no partial member, no staging directory, no marker
    with pytest.raises(DataError, match="cannot read archive"):
        extract_archive(archive, dest, SkipLog(strict=True))


def test_second_run_reuses_and_replays_skips_then_reextracts_a_changed_archive(tmp_path, monkeypatch):
    archive = tmp_path / "S2.tar.gz"
    make_tar(archive, [("train/S2/a.wav", OK), ("../evil", OK)])
    dest = tmp_path / "wav"
    first = SkipLog()
    assert extract_archive(archive, dest, first).files == 1
    mtime = (dest / "train" / "S2" / "a.wav").stat().st_mtime_ns

    def no_open(*a, **k):
        raise AssertionError("archive re-read")

    monkeypatch.setattr(tarfile, "open", no_open)
    second = SkipLog()
    report = extract_archive(archive, dest, second)
    assert report.reused and report.files == 1 and second.counts() == first.counts() == {"path_escape": 1}
    assert (dest / "train" / "S2" / "a.wav").stat().st_mtime_ns == mtime
    with pytest.raises(DataError):               # a strict re-run still reports the archive's problem
        extract_archive(archive, dest, SkipLog(strict=True))
    monkeypatch.undo()
    make_tar(archive, [("train/S2/a.wav", b"new"), ("train/S2/b.wav", OK)])   # the archive changed
    report = extract_archive(archive, dest, SkipLog())
    assert not report.reused and report.files == 2 and (dest / "train/S2/a.wav").read_bytes() == b"new"


def test_existing_symlink_in_target_cannot_redirect_members(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "wav"
    dest.mkdir()
    (dest / "train").symlink_to(outside, target_is_directory=True)
    archive = tmp_path / "S3.tar.gz"
    make_tar(archive, [("train/x.wav", OK), ("dev/y.wav", OK)])
    log = SkipLog()
    extract_archive(archive, dest, log)
    assert log.counts() == {"path_escape": 1} and list(outside.iterdir()) == []
    assert (dest / "dev" / "y.wav").is_file()


def test_extract_all_handles_each_archive(tmp_path):
    make_tar(tmp_path / "A.tar.gz", [("train/A/1.wav", OK)])
    make_tar(tmp_path / "B.tar.gz", [("train/B/1.wav", OK)])
    (tmp_path / "C.tar.gz").write_bytes(b"junk")
    log = SkipLog()
    reports = extract_all(tmp_path, log)
    assert [(r.files, r.ok) for r in reports] == [(1, True), (1, True), (0, False)]
    assert log.counts() == {"corrupt_archive": 1}
    assert [r.reused for r in extract_all(tmp_path, SkipLog())] == [True, True, False]
