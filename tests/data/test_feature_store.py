"""Re-preparing an unchanged corpus rewrites nothing, so stored features are reused (not recomputed); a
changed manifest is replaced and its features recomputed."""

import shutil

from soups.data.feature_store import compute_features
from soups.data.manifests import load_cuts, manifest_path, save_cuts
from soups.data.prepare import prepare_synthetic


def _mtimes(paths):
    return {p.name: p.stat().st_mtime_ns for p in paths}


def test_saving_identical_cuts_leaves_the_file_untouched(tiny_corpus, tmp_path):
    cuts = list(load_cuts(manifest_path(tiny_corpus, "en", "dev")))
    path = tmp_path / "cuts_en_dev.jsonl.gz"
    assert save_cuts(cuts, path) == len(cuts)
    before = path.stat().st_mtime_ns
    assert save_cuts(cuts, path) == len(cuts)
    assert path.stat().st_mtime_ns == before and not list(tmp_path.glob("*.tmp"))
    save_cuts(cuts[:-1], path)
    assert sum(1 for _ in load_cuts(path)) == len(cuts) - 1


def test_preparing_again_reuses_the_stored_features(tiny_corpus, tmp_path):
    data = tmp_path / "corpus"
    shutil.copytree(tiny_corpus, data)
    prepare_synthetic(data, "tiny", 0, ("en", "fr"))   # audio paths now point into the copy: manifests change
    compute_features(data)
    manifests, features = sorted(data.glob("cuts_*.jsonl.gz")), sorted((data / "fbank").glob("*"))
    first = _mtimes(manifests + features)
    report = prepare_synthetic(data, "tiny", 0, ("en", "fr"))
    counts = compute_features(data)
    assert report["corpus"]["synthesized_now"] == 0 and counts["en"]["train"] == 40
    assert _mtimes(manifests + features) == first
