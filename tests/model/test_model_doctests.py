"""The docstring examples of soups.model stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["attention", "subsampling", "conformer", "heads", "decoder", "decoder_search", "ssl_factory", "cpc",
           "bestrq", "presets"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"soups.model.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
