"""The ``soups`` command line: argument parsing and wiring only (nothing imports this package).

Each sub-command lives in its own module that exposes ``register(subparsers)``; the parser is built from
the list below. Library errors (:class:`soups.errors.SoupsError`) are printed as one line, exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from soups.errors import SoupsError

# Modules under soups.cli, each with register(subparsers). Imported lazily in build_parser.
COMMAND_MODULES = ["prepare", "data", "train", "evaluate", "tools", "demo", "bench", "grid"]


def build_parser() -> argparse.ArgumentParser:
    from soups import __version__

    parser = argparse.ArgumentParser(
        prog="soups",
        description="Multilingual multi-task speech models with conflict-aware multi-objective optimization.",
    )
    parser.add_argument("--version", action="version", version=f"soups {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"soups.cli.{name}").register(sub)
    return parser


# what the speech toolkit needs beyond the core (torch, numpy, pyyaml): the `speech` extra of pyproject.toml
SPEECH_MODULES = {"lhotse", "soundfile", "sentencepiece", "jiwer", "sacrebleu", "torchjd", "tensorboard",
                  "matplotlib", "tqdm", "lilcom", "scipy", "urllib3"}
EXTRA_OF = {**dict.fromkeys(SPEECH_MODULES, ("speech", "the speech toolkit")),
            "transformers": ("hf", "a transformers backbone (model.encoder.kind=hf)")}


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except ModuleNotFoundError as err:
        top = (err.name or "").split(".")[0]
        if top not in EXTRA_OF:
            raise
        extra, what = EXTRA_OF[top]
        print(f"soups: error: {what} needs the '{extra}' extra (missing module {err.name!r}): "
              f"pip install 'soups[{extra}]' (or `make install`)", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # key=value overrides may come after options (argparse stops collecting positionals at an option)
    if extra and hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra):
        args.overrides = list(args.overrides) + extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.func(args) or 0)
    except SoupsError as err:
        print(f"soups: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("soups: interrupted", file=sys.stderr)
        return 130
