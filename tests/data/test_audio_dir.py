"""Any folder of audio -> an unlabeled stream: formats, ids, duplicates, broken and too-short files."""

import pytest

from soups.cli import main
from soups.data.manifests import load_cuts
from soups.data.prepare import prepare_audio_dir
from soups.data.stats import data_stats
from soups.errors import DataError
from tests.data.corpora_fixture import write_audio


@pytest.fixture()
def tree(tmp_path):
    root = tmp_path / "recordings"
    write_audio(root / "spk1" / "a.wav")
    write_audio(root / "spk1" / "b.FLAC")                    # upper-case suffix
    write_audio(root / "spk2" / "deep" / "c.mp3")
    write_audio(root / "spk2" / "d8k.wav", rate=8000)        # resampled to 16 kHz
    write_audio(root / "spk1" / "a.flac")                    # same id as spk1/a.wav -> duplicate_id
    write_audio(root / "tiny.wav", seconds=0.03)             # no encoder frame -> too_short
    (root / "broken.wav").write_bytes(b"RIFF....WAVEfmt not really")     # unreadable_audio
    (root / "notes.txt").write_text("not audio")                          # ignored
    write_audio(root / ".hidden" / "x.wav")                                # hidden directory: ignored
    return root


def test_unlabeled_cuts_ids_and_skips(tree, tmp_path):
    report = prepare_audio_dir(tree, "en", tmp_path / "out", split="train", threads=2)
    assert report["utterances"] == {"en": {"train": 4}}
    assert report["skipped"]["by_reason"] == {"duplicate_id": 1, "too_short": 1, "unreadable_audio": 1}
    cuts = list(load_cuts(tmp_path / "out" / "cuts_en_train.jsonl.gz"))
    assert [c.id for c in cuts] == ["spk1-a", "spk1-b", "spk2-d8k", "spk2-deep-c"]
    assert all(c.supervisions[0].text is None and c.supervisions[0].custom == {"split": "train", "unlabeled": True}
               for c in cuts)
    assert all(c.sampling_rate == 16000 and c.supervisions[0].language == "en" for c in cuts)
    assert abs(cuts[2].duration - cuts[0].duration) < 0.01                    # the 8 kHz copy, resampled
    assert cuts[0].recording.sources[0].source.endswith("spk1/a.flac")        # a.flac sorts before a.wav
    stats = data_stats(tmp_path / "out")
    assert stats["en"]["train"]["utterances"] == 4
    assert stats["en"]["train"]["skipped"] == {"duplicate_id": 1, "too_short": 1, "unreadable_audio": 1}


def test_strict_mode_names_the_file(tree, tmp_path):
    with pytest.raises(DataError) as err:
        prepare_audio_dir(tree, "en", tmp_path / "out", strict=True)
    assert err.value.path.name == "a.wav" and "duplicate_id" in str(err.value)   # a.flac sorts first, a.wav repeats
    (tree / "spk1" / "a.wav").unlink()
    with pytest.raises(DataError) as err:
        prepare_audio_dir(tree, "en", tmp_path / "out", strict=True, threads=1)
    assert err.value.path.name == "broken.wav" and "unreadable_audio" in str(err.value)


def test_bad_inputs(tmp_path):
    with pytest.raises(DataError, match="directory not found"):
        prepare_audio_dir(tmp_path / "nope", "en", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no audio files"):
        prepare_audio_dir(tmp_path / "empty", "en", tmp_path / "out")
    write_audio(tmp_path / "one" / "x.wav")
    with pytest.raises(DataError, match="not a language code"):
        prepare_audio_dir(tmp_path / "one", "en_US", tmp_path / "out")
    with pytest.raises(DataError, match="split name"):
        prepare_audio_dir(tmp_path / "one", "en", tmp_path / "out", split="my_split")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.mp3").write_bytes(b"\x00" * 10)
    with pytest.raises(DataError, match="no usable utterance"):
        prepare_audio_dir(tmp_path / "bad", "en", tmp_path / "out")


def test_cli(tree, tmp_path, capsys):
    assert main(["prepare", "audio-dir", "--root", str(tree), "--lang", "xx", "--out", str(tmp_path / "out"),
                 "--split", "unlabeled-2024"]) == 0
    text = capsys.readouterr().out
    assert "xx: unlabeled-2024=4" in text and "skipped 3 items: duplicate_id=1, too_short=1, unreadable_audio=1" in text
    assert (tmp_path / "out" / "cuts_xx_unlabeled-2024.jsonl.gz").is_file()
