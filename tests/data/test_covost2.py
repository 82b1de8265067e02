"""The CoVoST 2 reader on handmade layouts: the official join, splits, quoting, and every bad input."""

import json
from collections import Counter

import pytest

from soups.data.covost2 import read_covost2
from soups.data.manifests import load_cuts
from soups.data.prepare import prepare_covost2
from soups.data.skips import SkipLog
from soups.errors import DataError
from tests.data.covost_fixture import FR_CASES, GOOD, build_fixture, line_of


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    root = tmp_path_factory.mktemp("covost")
    build_fixture(root)
    return root


def test_join_keeps_exactly_the_good_rows_in_the_right_splits(layout):
    skips = SkipLog()
    cuts = read_covost2(layout / "cv", layout / "covost", ["fr", "en"], skips)
    got = {key: {c.id for c in items} for key, items in cuts.items()}
    expected = {}
    for case in GOOD:
        expected.setdefault(("fr", case.expect), set()).add(case.name)
    expected[("en", "train")], expected[("en", "test")] = {"en1"}, {"en2"}
    assert got == expected


def test_every_bad_row_is_counted_by_reason(layout):
    skips = SkipLog()
    read_covost2(layout / "cv", layout / "covost", ["fr", "en"], skips)
    expected = Counter(c.expect for c in FR_CASES if c.expect not in ("train", "dev", "test"))
    assert skips.counts() == dict(expected)
    assert "skipped 9 items" in skips.summary()


def test_supervision_fields_quotes_translation_gender_and_resampling(layout):
    cuts = read_covost2(layout / "cv", layout / "covost", ["fr", "en"], SkipLog())
    by_id = {c.id: c for items in cuts.values() for c in items}
    ok1 = by_id["ok1"]
    sup = ok1.supervisions[0]
    assert sup.text == '"Bonjour", dit-il.'                    # CV: raw quotes
    assert sup.custom["translation"] == '"Hello," he said.'    # CoVoST: backslash-escaped quotes
    assert sup.custom["translation_lang"] == "en"
    assert (sup.language, sup.speaker, sup.gender) == ("fr", "spk1", "m")
    assert by_id["ok2"].supervisions[0].gender == "f"          # 'female_feminine' (newer CV) -> f
    assert ok1.sampling_rate == 16000
    assert [t.to_dict()["kwargs"]["source_sampling_rate"] for t in ok1.recording.transforms] == [48000]
    audio = ok1.load_audio()
    assert audio.shape == (1, 32000)                           # 2 s at 16 kHz after resampling
    en1 = by_id["en1"].supervisions[0]
    assert en1.custom["translation_lang"] == "de" and en1.custom["translation"] == "Hallo."


@pytest.mark.parametrize("case", [c for c in FR_CASES if c.expect not in ("train", "dev", "test")],
                         ids=lambda c: c.expect)
def test_strict_mode_names_file_and_line(tmp_path, case):
    cases = GOOD + [case]
    build_fixture(tmp_path, cases, with_english=False)
    with pytest.raises(DataError) as err:
        read_covost2(tmp_path / "cv", tmp_path / "covost", ["fr"], SkipLog(strict=True))
    assert err.value.path is not None and str(err.value.path).endswith(case.located_in)
    assert err.value.line == line_of(case, cases)
    assert case.expect in str(err.value)


def test_language_without_data_is_counted_and_all_missing_is_an_error(layout, tmp_path):
    skips = SkipLog()
    cuts = read_covost2(layout / "cv", layout / "covost", ["fr", "de"], skips)
    assert skips.counts()["language_without_data"] == 1 and ("fr", "train") in cuts
    with pytest.raises(DataError, match="no usable utterance"):
        read_covost2(layout / "cv", layout / "covost", ["de"], SkipLog())
    with pytest.raises(DataError, match="--cv-root"):
        read_covost2(tmp_path / "nope", layout / "covost", ["fr"], SkipLog())


def test_prepare_writes_manifests_and_skip_report_deterministically(layout, tmp_path):
    out1, out2 = tmp_path / "a", tmp_path / "b"
    report = prepare_covost2(layout / "cv", layout / "covost", ["fr", "en"], out1)
    prepare_covost2(layout / "cv", layout / "covost", ["fr", "en"], out2)
    assert report["utterances"]["fr"] == {"train": 3, "dev": 1, "test": 1}
    for name in ("cuts_fr_train.jsonl.gz", "cuts_en_test.jsonl.gz", "skips.json"):
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes()
    assert [c.id for c in load_cuts(out1 / "cuts_fr_train.jsonl.gz")] == ["ok1", "ok2", "ok3"]
    assert json.loads((out1 / "skips.json").read_text())["by_reason"]["missing_clip"] == 1
