"""AISHELL-1 reader on a handmade tree: archives (good, corrupt, malicious), extracted wavs, transcript traps."""

import os

import pytest

from soups.cli import main
from soups.data.aishell import corpus_dir, parse_transcript_line
from soups.data.manifests import load_cuts
from soups.data.prepare import prepare_aishell
from soups.data.stats import data_stats
from soups.errors import DataError
from tests.data.corpora_fixture import AISHELL_LOCATION, AISHELL_TRAPS, build_aishell


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = build_aishell(tmp_path_factory.mktemp("aishell"))
    report = prepare_aishell(root, root / "out", threads=2)
    return root, report


def test_counts_one_sided_entries_and_every_skip_reason(prepared):
    root, report = prepared
    assert report["utterances"] == {"zh": {"dev": 1, "test": 1, "train": 3}}
    assert report["wavs_without_transcript"] == 1        # BAC009S0002W0124.wav
    assert report["transcripts_without_wav"] == 2        # W0999, and S0900's wav (its archive is corrupt)
    assert report["archives"] == {"total": 4, "extracted_now": 3, "reused": 0, "corrupt": 1}
    assert report["skipped"]["by_group"] == {"zh": {
        "?": {"bad_row": 1, "corrupt_archive": 1, "duplicate_id": 1, "no_audio": 2, "path_escape": 5},
        "train": {"empty_transcript": 1, "no_transcript": 1}}}


def test_malicious_archive_wrote_nothing_outside(prepared):
    root, _ = prepared
    wav = root / "data_aishell" / "wav"
    assert not (root / "data_aishell" / "evil.wav").exists() and not (root / "evil.wav").exists()
    assert not (root / "up.wav").exists() and not os.path.exists("/tmp/soups_abs_evil.wav")
    assert not (root / "data_aishell" / "outside.wav").exists()
    assert sorted(p.name for p in (wav / "train" / "S0666").iterdir()) == ["BAC009S0666W0001.wav"]
    assert not [p for p in wav.rglob("*") if p.is_symlink()]
    assert not list(wav.glob(".soups-extract-*"))           # no staging directory left


def test_cuts_text_without_spaces_speaker_split(prepared):
    root, _ = prepared
    train = {c.id: c.supervisions[0] for c in load_cuts(root / "out" / "cuts_zh_train.jsonl.gz")}
    assert sorted(train) == ["BAC009S0002W0122", "BAC009S0002W0123", "BAC009S0666W0001"]
    assert train["BAC009S0002W0122"].text == "而对楼市成交"     # the first of the duplicate lines
    assert train["BAC009S0002W0123"].text == "一家公司"
    assert {s.speaker for s in train.values()} == {"S0002", "S0666"}
    assert all(s.language == "zh" and s.custom["split"] == "train" for s in train.values())
    test = list(load_cuts(root / "out" / "cuts_zh_test.jsonl.gz"))            # the already-extracted speaker
    assert [c.id for c in test] == ["BAC009S0764W0121"] and test[0].supervisions[0].text == "你好世界"


def test_data_stats(prepared):
    stats = data_stats(prepared[0] / "out")
    assert {s: v["utterances"] for s, v in stats["zh"].items()} == {"dev": 1, "test": 1, "train": 3}
    assert stats["zh"]["train"]["speakers"] == 2 and stats["zh"]["train"]["genders"] == {"unknown": 3}
    assert stats["zh"]["train"]["skipped"] == {"empty_transcript": 1, "no_transcript": 1}
    assert stats["skipped"]["zh"]["no_audio"] == 2 and stats["skipped"]["zh"]["path_escape"] == 5


def test_second_run_extracts_nothing_and_gives_identical_manifests(prepared, monkeypatch):
    root, first = prepared
    import tarfile

    wav = root / "data_aishell" / "wav" / "train" / "S0002" / "BAC009S0002W0122.wav"
    mtime = wav.stat().st_mtime_ns
    opened = []
    real_open = tarfile.open
    monkeypatch.setattr(tarfile, "open", lambda path, *a, **k: opened.append(os.path.basename(path))
                        or real_open(path, *a, **k))
    second = prepare_aishell(root, root / "out2", threads=1)
    assert opened == ["S0900.tar.gz"]                     # only the corrupt one is tried again
    assert second["archives"] == {"total": 4, "extracted_now": 0, "reused": 3, "corrupt": 1}
    assert second["skipped"] == first["skipped"] and wav.stat().st_mtime_ns == mtime
    for split in ("train", "dev", "test"):
        name = f"cuts_zh_{split}.jsonl.gz"
        assert (root / "out" / name).read_bytes() == (root / "out2" / name).read_bytes()


@pytest.mark.parametrize("trap", AISHELL_TRAPS)
def test_strict_mode_stops_at_the_located_problem(tmp_path, trap):
    root = build_aishell(tmp_path, traps=(trap,))
    with pytest.raises(DataError) as err:
        prepare_aishell(root, tmp_path / "out", strict=True, threads=1)
    name, line = AISHELL_LOCATION[trap]
    assert str(err.value.path).endswith(name) and err.value.line == line, str(err.value)


def test_clean_tree_strict_and_layout_errors(tmp_path):
    root = build_aishell(tmp_path / "a", traps=())
    report = prepare_aishell(root / "data_aishell", tmp_path / "out", strict=True)   # root may be data_aishell
    assert report["skipped"]["total"] == 0 and report["wavs_without_transcript"] == 0
    with pytest.raises(DataError, match="no data_aishell"):
        corpus_dir(tmp_path)
    (root / "data_aishell" / "transcript" / "aishell_transcript_v0.8.txt").unlink()
    with pytest.raises(DataError, match="transcript file not found"):
        prepare_aishell(root, tmp_path / "out")


def test_wavs_outside_the_known_splits_are_counted(tmp_path):
    root = build_aishell(tmp_path, traps=())
    extra = root / "data_aishell" / "wav" / "validation" / "S0001"
    extra.mkdir(parents=True)
    (extra / "BAC009S0001W0001.wav").write_bytes((root / "data_aishell" / "wav" / "test" / "S0764" /
                                                  "BAC009S0764W0121.wav").read_bytes())
    report = prepare_aishell(root, tmp_path / "out")
    assert report["skipped"]["by_reason"] == {"unknown_split": 1}


def test_transcript_line():
    assert parse_transcript_line("BAC009S0916W0490     阳逻  一  家\n") == ("BAC009S0916W0490", "阳逻一家")
    assert parse_transcript_line("BAC009S0916W0490") == ("BAC009S0916W0490", "")


def test_cli_prints_wavs_without_transcript(tmp_path, capsys):
    root = build_aishell(tmp_path)
    assert main(["prepare", "aishell", "--root", str(root), "--out", str(tmp_path / "out"), "--threads", "1"]) == 0
    text = capsys.readouterr().out
    assert "zh: dev=1, test=1, train=3" in text
    assert "wavs without transcript: 1; transcripts without wav: 2" in text
    assert "skipped 12 items:" in text and "path_escape=5" in text and "corrupt_archive=1" in text
    assert "archives: 4 (3 extracted now, 0 already extracted, 1 corrupt)" in text
    assert main(["prepare", "aishell", "--root", str(root), "--out", str(tmp_path / "o2"), "--strict"]) == 2
    err = capsys.readouterr().err     # the malicious archive's skips are replayed from its marker, strictly
    assert "S0666.tar.gz: '..' in member path '../evil.wav'" in err and "path_escape" in err
