"""The house rule of docs/architecture.md: data flows one way — data -> model -> objectives -> moo -> train -> eval,
with cli / bench / grid on top — and no module imports another that (directly or not) imports it back.

Read from the source text (every ``import``, at module level or inside a function), not by importing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "soups"
# the floor of each part of the package: a module may import only from its own floor or below
FLOORS = {"errors": 0, "atomic": 0, "lock": 0, "config_schema": 0, "moo": 1, "data": 1, "model": 2, "objectives": 3,
          "multitask": 4, "train": 5, "eval": 6, "bench": 7, "grid": 7, "cli": 8, "__main__": 9,
          "__init__": 0}  # soups/__init__.py holds a docstring and __version__ only


def _module(path: Path) -> str:
    return ".".join(("soups",) + path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    """Every soups module named by an import statement of ``path`` (relative imports resolved)."""
    tree, out = ast.parse(path.read_text()), set()
    package = _module(path) if path.name == "__init__.py" else _module(path).rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("soups")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if base.startswith("soups"):
                out.add(base)
                out |= {f"{base}.{a.name}" for a in node.names}  # `from soups.model import ssl`
    return out


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in SRC.rglob("*.py")}
    return {m: {i for i in _imports(p) if i in modules and i != m} for m, p in modules.items()}


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def test_no_module_imports_from_a_higher_floor():
    upward = sorted(f"{m} -> {i}" for m, deps in _graph().items() for i in deps
                    if FLOORS[_part(i)] > FLOORS[_part(m)])
    assert upward == []


def test_no_import_circles():
    graph, circles = _graph(), []
    state: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for i in sorted(graph[m]):
            if state.get(i) == 1:
                circles.append(" -> ".join(stack[stack.index(i):] + [i]))
            elif i not in state:
                visit(i, stack + [i])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    # a package's __init__ re-exporting its modules is not a circle of the modules themselves
    circles = [c for c in circles if not any(part.count(".") == 1 and part in graph and
                                            (SRC / part.split(".")[1] / "__init__.py").is_file()
                                            for part in c.split(" -> "))]
    assert circles == []


@pytest.mark.parametrize("module,expected", [("soups.model.ssl_factory", {"soups.model.bestrq", "soups.model.cpc"}),
                                             ("soups.train.loop", {"soups.train.distributed"})])
def test_the_reader_sees_real_imports(module, expected):
    assert expected <= _graph()[module]


def test_moo_imports_only_torch_and_numpy_at_load():
    """soups.moo is meant for any PyTorch training loop: at module level it imports the standard library,
    torch, numpy and its own modules (plus soups.errors, plain Python, and in ``moo/config.py``, the YAML section's
    dataclasses, soups.config_schema — not loaded by ``import soups.moo``) — no speech stack. torchjd and quadprog
    (UPGrad, the exact MGDA solver) are imported inside the functions that need them."""
    import sys

    outside = set()
    for path in (SRC / "moo").rglob("*.py"):
        for node in ast.parse(path.read_text()).body:   # module level only
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("torch", "numpy") \
                        and name not in ("soups.errors", "soups.config_schema") and not name.startswith("soups.moo"):
                    outside.add(f"{path.name}: {name}")
    assert sorted(outside) == []
