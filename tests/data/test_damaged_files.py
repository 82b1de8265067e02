"""Damaged files where data enters: each case is a clear error naming the file (and line), or a counted skip —
never a traceback (manifests, feature files, tokenizers, CMVN, TSV rows, non-finite audio)."""

from __future__ import annotations

import gzip
import json
import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from soups.data.batch import load_cut_features
from soups.data.feature_store import FEATURE_DIR, _extract
from soups.data.features import CMVNAccumulator, GlobalCMVN, fbank_extractor
from soups.data.manifests import count_cuts, load_cuts, manifest_path
from soups.data.skips import SkipLog
from soups.data.tokenizer import CharTokenizer, load_tokenizers, save_tokenizers
from soups.data.tsv import parse_tsv_lines
from soups.errors import DataError


def _lines(path):
    return gzip.open(path, "rt", encoding="utf-8").read().splitlines()


def _write_gz(path, lines):
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


MANIFEST_CASES = {
    # name: (make(path of a good manifest, out) -> path, expected message part, expected line or None)
    "broken JSON line": (lambda good, out: _write_gz(out, _lines(good)[:2] + ['{"id": "x",'] + _lines(good)[3:]),
                         "broken JSON line", 3),
    "truncated gzip": (lambda good, out: out.write_bytes(good.read_bytes()[: good.stat().st_size // 2]) and out,
                       "unreadable gzip stream", None),
    "plain text named .jsonl.gz": (lambda good, out: out.write_text("\n".join(_lines(good))) and out,
                                   "not a .jsonl.gz file", None),
    "JSON that is not a cut": (lambda good, out: _write_gz(out, _lines(good)[:1] + ['{"a": 1}']),
                               "not a lhotse cut", 2),
    "a JSON list": (lambda good, out: _write_gz(out, ["[1, 2]"]), "must be a JSON object", 1),
}


@pytest.mark.parametrize("case", list(MANIFEST_CASES))
def test_damaged_manifest_is_a_located_error(case, tiny_corpus, tmp_path):
    make, message, line = MANIFEST_CASES[case]
    path = make(manifest_path(tiny_corpus, "en", "dev"), tmp_path / "cuts_en_dev.jsonl.gz")
    with pytest.raises(DataError) as err:
        len(load_cuts(path)), [c.id for c in load_cuts(path)], count_cuts(path)
    assert message in str(err.value) and str(path) in str(err.value)
    assert err.value.line == line


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_missing_or_truncated_feature_file_is_a_located_error(damage, tiny_corpus, tmp_path):
    cuts = list(load_cuts(tiny_corpus / FEATURE_DIR / "cuts_en_dev.jsonl.gz"))
    storage = tmp_path / "feats_en_dev.lca"
    shutil.copy(cuts[0].features.storage_path, storage)
    cuts = [c.with_features_path_prefix("") for c in cuts]
    for c in cuts:
        c.features.storage_path = str(storage)
    assert load_cut_features(cuts[0]).shape[1] == 80
    if damage == "missing":
        storage.unlink()
    else:
        storage.write_bytes(storage.read_bytes()[:100])
    with pytest.raises(DataError) as err:
        for cut in cuts:
            load_cut_features(cut)
    assert "cannot read the features of cut" in str(err.value) and "soups features" in str(err.value)


def test_non_finite_audio_is_skipped_at_feature_extraction():
    def cut(samples):
        return SimpleNamespace(id="u1", recording=SimpleNamespace(sources=[SimpleNamespace(source="bad.wav")]),
                               load_audio=lambda: samples, sampling_rate=16000)

    good = np.random.default_rng(0).normal(scale=0.1, size=(1, 16000)).astype(np.float32)
    feats, error = _extract(cut(good), fbank_extractor())
    assert error is None and np.isfinite(feats).all()
    for bad in (np.full_like(good, np.nan), np.where(np.arange(16000) == 5, np.inf, good).astype(np.float32)):
        feats, error = _extract(cut(bad), fbank_extractor())
        assert feats is None and "bad.wav: non-finite audio samples" in error


def test_non_finite_cmvn_statistics_are_refused():
    acc = CMVNAccumulator(dim=2)
    acc.add(np.array([[1.0, np.nan], [2.0, 3.0]]))
    with pytest.raises(DataError, match="not finite"):
        acc.finalize()


CMVN_CASES = {
    "truncated": lambda text: text[: len(text) // 2],
    "NaN std": lambda text: json.dumps({**json.loads(text), "std": [float("nan")] * 80}),
    "zero std": lambda text: json.dumps({**json.loads(text), "std": [0.0] * 80}),
    "shape": lambda text: json.dumps({**json.loads(text), "std": [1.0] * 5}),
    "no mean": lambda text: json.dumps({"std": [1.0] * 80}),
    "not an object": lambda text: "[1, 2]",
}


@pytest.mark.parametrize("case", list(CMVN_CASES))
def test_damaged_cmvn_file_is_a_located_error(case, tmp_path):
    path = tmp_path / "cmvn.json"
    GlobalCMVN.from_stats(np.zeros(80), np.full(80, 4.0), 2).save(path)
    assert GlobalCMVN.load(path).std.shape == (80,)
    path.write_text(CMVN_CASES[case](path.read_text()))
    with pytest.raises(DataError) as err:
        GlobalCMVN.load(path)
    assert str(err.value).startswith(f"{path}: ")


TOKENIZER_CASES = {
    "truncated": lambda text: text[: len(text) // 2],
    "unknown kind": lambda text: json.dumps({"asr_en": {"kind": "bpe"}}),
    "not a SentencePiece model": lambda text: json.dumps({"st": {"kind": "spm", "model": "aGVsbG8="}}),
    "no chars": lambda text: json.dumps({"asr_en": {"kind": "char"}}),
    "not an object": lambda text: "[]",
}


@pytest.mark.parametrize("case", list(TOKENIZER_CASES))
def test_damaged_tokenizers_file_is_a_located_error(case, tmp_path):
    path = tmp_path / "tokenizers.json"
    save_tokenizers({"asr_en": CharTokenizer(list("abc "))}, path)
    assert list(load_tokenizers(path)) == ["asr_en"]
    path.write_text(TOKENIZER_CASES[case](path.read_text()))
    with pytest.raises(DataError) as err:
        load_tokenizers(path)
    assert str(err.value).startswith(f"{path}: ")


def test_tsv_row_ending_in_a_backslash_is_reported_with_its_cause():
    skips = SkipLog()
    rows = ["path\tsentence\n", "a.mp3\tbonjour\\\n", "b.mp3\tsalut\n", "c.mp3\tok\n", "d.mp3\tfin\\\n"]
    table = parse_tsv_lines(rows, "x.tsv", skips)
    assert [r["path"] for _, r in table.rows] == ["c.mp3"]
    examples = skips.to_dict()["examples"]["bad_row"]
    assert examples[0].startswith("x.tsv:2: wrong number of fields (3, expected 2) in lines 2-3")
    assert "backslash" in examples[0]
    assert examples[1].startswith("x.tsv:5: the file ends inside a row")
    with pytest.raises(DataError, match="x.tsv:3: the file ends inside a row"):
        parse_tsv_lines(rows[:1] + rows[3:], "x.tsv")
