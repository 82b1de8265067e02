"""The synthesizer's dependencies are an extra (``soups[synthetic]``): without them `soups prepare synthetic`
is one clear error before any worker starts."""

import importlib.util

import pytest

from soups.data.prepare import prepare_synthetic
from soups.errors import SoupsError


@pytest.mark.parametrize("missing,langs", [("espeakng_loader", ("en",)), ("pypinyin", ("en", "zh"))])
def test_missing_synthetic_extra_is_one_clear_error(missing, langs, monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == missing else real(name, *a))
    with pytest.raises(SoupsError, match=rf"needs {missing}: pip install 'soups\[synthetic\]'"):
        prepare_synthetic(tmp_path / "c", "tiny", 0, langs)
    assert not (tmp_path / "c").exists()
