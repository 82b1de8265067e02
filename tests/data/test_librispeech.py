"""LibriSpeech reader on a handmade tree in the release layout; also the paper's recipes (configs/recipes/)."""

import gzip
import json
from pathlib import Path

import pytest
import yaml

from soups.cli import main
from soups.data.librispeech import parse_speaker_line
from soups.data.manifests import list_manifests, load_cuts
from soups.data.prepare import prepare_librispeech
from soups.data.stats import data_stats
from soups.errors import DataError
from tests.data.corpora_fixture import LIBRI_LOCATION, LIBRI_TRAPS, build_librispeech

PARTS = ["train-clean-100", "dev-clean", "test-clean"]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("ls")
    ls = build_librispeech(root)
    report = prepare_librispeech(ls, PARTS, root / "out", unlabeled=["train-clean-360"], threads=2)
    return root / "out", report


def test_counts_and_every_skip_reason(prepared):
    out, report = prepared
    assert report["utterances"] == {"en": {"train-clean-100": 3, "dev-clean": 1, "test-clean": 0,
                                           "train-clean-360": 2}}
    assert report["skipped"]["by_group"] == {
        "en": {"?": {"bad_row": 2},   # SPEAKERS.TXT: SEX 'X' and a non-UTF-8 line
               "test-clean": {"missing_part": 1},
               "train-clean-100": {"bad_row": 1, "duplicate_id": 1, "empty_transcript": 1, "no_audio": 1,
                                   "no_transcript": 1, "too_short_for_ctc": 1, "unreadable_audio": 1}}}
    assert sorted(list_manifests(out)["en"]) == ["dev-clean", "train-clean-100", "train-clean-360"]


def test_cuts_carry_text_speaker_gender_and_unlabeled_parts_have_no_text(prepared):
    out, _ = prepared
    train = {c.id: c.supervisions[0] for c in load_cuts(out / "cuts_en_train-clean-100.jsonl.gz")}
    assert sorted(train) == ["19-198-0000", "19-198-0001", "26-495-0000"]   # sorted, first duplicate kept
    assert train["19-198-0000"].text == "HELLO WORLD"
    assert [(s.speaker, s.gender, s.language) for s in train.values()] == [("19", "f", "en")] * 2 + [("26", "m", "en")]
    unl = list(load_cuts(out / "cuts_en_train-clean-360.jsonl.gz"))
    assert [c.id for c in unl] == ["26-496-0000", "26-496-0001"]
    assert all(c.supervisions[0].text is None and c.supervisions[0].custom["unlabeled"] for c in unl)
    assert all(c.supervisions[0].gender == "m" and c.sampling_rate == 16000 for c in unl)
    with gzip.open(out / "cuts_en_train-clean-360.jsonl.gz", "rt") as f:
        first = json.loads(f.readline())
    assert "text" not in first["supervisions"][0]
    assert Path(first["recording"]["sources"][0]["source"]).is_absolute()   # usable from any directory


def test_data_stats_on_the_prepared_directory(prepared):
    stats = data_stats(prepared[0])
    assert stats["en"]["train-clean-100"]["utterances"] == 3
    assert stats["en"]["train-clean-100"]["speakers"] == 2
    assert stats["en"]["train-clean-100"]["genders"] == {"f": 2, "m": 1}
    assert stats["en"]["train-clean-100"]["skipped"]["no_audio"] == 1
    assert stats["en"]["train-clean-360"]["genders"] == {"m": 2}
    assert stats["en"]["test-clean"] == {"utterances": 0, "hours": 0.0, "speakers": 0, "genders": {},
                                         "skipped": {"missing_part": 1}, "word_types": 0, "word_tokens": 0,
                                         "word_count_min": 0, "word_count_median": 0.0, "oov_rate": None}
    # density of the transcripts: dev-clean's words are scored against the training parts' vocabulary
    assert stats["en"]["train-clean-100"]["word_tokens"] > 0 and stats["en"]["train-clean-100"]["oov_rate"] is None
    assert 0.0 <= stats["en"]["dev-clean"]["oov_rate"] <= 1.0
    assert stats["skipped"] == {"en": {"bad_row": 2}}
    assert 0 < stats["en"]["dev-clean"]["hours"] < 0.01


def test_collated_batches_carry_gender_labels(prepared):
    from soups.data.batch import collate
    from soups.objectives import GENDER_LABELS

    cuts = list(load_cuts(prepared[0] / "cuts_en_train-clean-100.jsonl.gz"))
    batch = collate("en", cuts, None)
    assert [GENDER_LABELS[g] for g in batch.genders] == [1, 1, 0] and batch.feats.shape[-1] == 80


@pytest.mark.parametrize("trap", LIBRI_TRAPS)
def test_strict_mode_stops_at_the_located_problem(tmp_path, trap):
    ls = build_librispeech(tmp_path, traps=(trap,))
    with pytest.raises(DataError) as err:
        prepare_librispeech(ls, PARTS, tmp_path / "out", strict=True, threads=1)
    name, line = LIBRI_LOCATION[trap]
    assert str(err.value.path).endswith(name) and err.value.line == line, str(err.value)
    assert not list((tmp_path / "out").glob("*.tmp")) if (tmp_path / "out").exists() else True


def test_clean_tree_in_strict_mode_and_bad_options(tmp_path):
    ls = build_librispeech(tmp_path, traps=())
    report = prepare_librispeech(ls, PARTS, tmp_path / "out", strict=True, threads=1)
    assert report["skipped"]["total"] == 0 and report["utterances"]["en"]["train-clean-100"] == 3
    with pytest.raises(DataError, match="both in --parts and --unlabeled"):
        prepare_librispeech(ls, ["dev-clean"], tmp_path / "o2", unlabeled=["dev-clean"])
    with pytest.raises(DataError, match="may only hold"):
        prepare_librispeech(ls, ["dev_clean"], tmp_path / "o2")
    with pytest.raises(DataError, match="no usable utterance"):
        prepare_librispeech(ls, ["train-other-500"], tmp_path / "o2")


def test_missing_speakers_file_is_a_warning_or_a_strict_error(tmp_path):
    ls = build_librispeech(tmp_path, traps=())
    (ls / "SPEAKERS.TXT").unlink()
    report = prepare_librispeech(ls, ["dev-clean"], tmp_path / "out")
    assert "SPEAKERS.TXT not found" in report["warnings"][0] and report["items_without_gender"] == 1
    with pytest.raises(DataError, match="no speaker gender"):
        prepare_librispeech(ls, ["dev-clean"], tmp_path / "out", strict=True)


def test_speaker_lines():
    assert parse_speaker_line("60   | M | train-clean-100  | 20.18 | |CBW|Simon") == ("60", "m")
    assert parse_speaker_line("14 | F | train-clean-360 | 25.03") is None       # four fields
    assert parse_speaker_line("x | F | a | 1 | n") is None


def test_cli_prints_the_skip_summary(tmp_path, capsys):
    ls = build_librispeech(tmp_path)
    code = main(["prepare", "librispeech", "--root", str(ls), "--out", str(tmp_path / "out"),
                 "--parts", ",".join(PARTS), "--unlabeled", "train-clean-360", "--threads", "1"])
    text = capsys.readouterr().out
    assert code == 0
    assert "en: dev-clean=1, test-clean=0, train-clean-100=3, train-clean-360=2" in text
    assert "skipped 10 items: bad_row=3, duplicate_id=1" in text and "unlabeled (SSL-only, no text)" in text
    assert "19-198.trans.txt:3: no audio" in text
    code = main(["prepare", "librispeech", "--root", str(ls), "--out", str(tmp_path / "o2"), "--strict"])
    assert code == 2 and "SPEAKERS.TXT:6:" in capsys.readouterr().err


# ---- recipes ----------------------------------------------------------------------------------------------

RECIPES = sorted((Path(__file__).parents[2] / "configs" / "recipes").glob("*.yaml"))
SOURCE_KEYS = ("train_sources", "dev_sources", "test_sources", "ssl_sources")


def _load_recipe(path: Path):
    from soups.train.config import load_config

    data = yaml.safe_load(path.read_text())
    return data, load_config(None, data=data)


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_recipes_load_and_their_hierarchies_resolve(path):
    from soups.moo.hierarchy import Hierarchy, HierarchyConfig

    data, cfg = _load_recipe(path)
    names = [o.name for o in cfg.objectives]
    tags = {o.name: {"task": o.task, "lang": o.lang or ""} for o in cfg.objectives}
    hierarchy = Hierarchy(HierarchyConfig.from_dict(cfg.moo.hierarchy), names,
                          ssl=[o.name for o in cfg.objectives if o.task == "ssl"], tags=tags)
    ssl = [o.name for o in cfg.objectives if o.task == "ssl"]
    if ssl:  # the paper's orders put the self-supervised objective lowest
        assert hierarchy.levels[-1] == ssl
    else:    # a pretrained-backbone recipe (no SSL objective on a backbone): every objective in one level
        assert cfg.model.encoder.get("kind") == "hf"
        assert sorted(n for level in hierarchy.levels for n in level) == sorted(names)
    for key in SOURCE_KEYS:                       # every source names a prepared dir and a split
        for lang, sources in (yaml.safe_load(path.read_text())["data"].get(key) or {}).items():
            for src in sources if isinstance(sources, list) else [sources]:
                assert set(src) <= {"dir", "split", "fraction", "upsample"} and src["dir"].startswith("data/")


def test_recipes_cover_the_paper_setups():
    by_name = {p.stem: _load_recipe(p)[1] for p in RECIPES}
    cov = by_name["covost2_vm_uas"]
    assert cov.data.subset_fraction == {"en": 0.5} and cov.data.upsample == {"ca": 4, "es": 4, "fr": 2, "de": 2}
    assert cov.moo.hierarchy == {"formulation": "vm", "levels": "uas", "weighting": "modo"}
    assert by_name["librispeech_aishell_lang"].moo.hierarchy["levels"] == "uec"
    gender = by_name["librispeech_aishell_gender"]
    assert [o.task for o in gender.objectives].count("gender") == 1
    raw = yaml.safe_load((RECIPES[0].parent / "librispeech_ssl860_sup100.yaml").read_text())
    assert [s["split"] for s in raw["data"]["ssl_sources"]["en"]] == ["train-clean-360", "train-other-500"]
