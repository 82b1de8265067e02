"""The examples in the soups.moo docstrings run and give what they show."""

import doctest
import importlib
import pkgutil

import pytest

import soups.moo

MODULES = sorted(m.name for m in pkgutil.iter_modules(soups.moo.__path__, "soups.moo."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, extraglobs={"torch": importlib.import_module("torch")})
    assert result.failed == 0


def test_moo_does_not_import_the_speech_side():
    import ast
    from pathlib import Path

    for path in Path(soups.moo.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                target = node.module if node.level == 0 else f"soups.{node.module}" if node.level == 2 else ""
                assert not any(target.startswith(f"soups.{p}") for p in ("data", "model", "train", "eval")), path
