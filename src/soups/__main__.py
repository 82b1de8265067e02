"""``python -m soups`` == the ``soups`` command."""

from soups.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
