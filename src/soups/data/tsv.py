"""Reading and writing TSV files exactly as Common Voice and CoVoST 2 do.

The official CoVoST script reads with ``quoting=csv.QUOTE_NONE, escapechar="\\"``: quotes are ordinary
characters (sentences may start with ``"``), and a backslash makes the next character literal (a tab, a
newline, a quote or a backslash inside a field), exactly as Python's csv module does. We implement that format by hand so that each row keeps its line number for
error messages, and bad rows are reported instead of silently shifted.

>>> rows = parse_tsv_lines(['path\\tsentence', 'a.mp3\\t"Oui", dit-il.'], "x.tsv")
>>> rows.header, rows.rows
(['path', 'sentence'], [(2, {'path': 'a.mp3', 'sentence': '"Oui", dit-il.'})])
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from soups.data.skips import SkipLog
from soups.errors import DataError

@dataclass
class TsvTable:
    """A parsed TSV: header and ``(line_number, {column: value})`` rows (line numbers are 1-based)."""

    path: str
    header: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def _split_fields(line: str) -> list[str]:
    """Split one physical line on unescaped tabs and undo backslash escapes."""
    fields, cur, i = [], [], 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line):  # escapechar: the next character is literal
            cur.append(line[i + 1])
            i += 2
            continue
        if ch == "\t":
            fields.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    fields.append("".join(cur))
    return fields


def _ends_with_escaped_newline(raw: str) -> bool:
    """True when the line break is preceded by an odd number of backslashes (an escaped newline)."""
    body = raw[:-1] if raw.endswith("\n") else raw
    if body == raw:
        return False
    trailing = len(body) - len(body.rstrip("\\"))
    return trailing % 2 == 1


def parse_tsv_lines(lines: Iterable[str], path: str | Path, skips: SkipLog | None = None,
                    required: tuple[str, ...] = (), lang: str | None = None) -> TsvTable:
    """Parse TSV lines (first line = header). Rows with the wrong number of fields go to ``skips`` as
    ``bad_row`` (or raise in strict mode / when no SkipLog is given). Missing ``required`` columns raise."""
    path = str(path)
    it = iter(lines)
    try:
        header = _split_fields(next(it).rstrip("\r\n"))
    except StopIteration:
        raise DataError("empty file (no header line)", path, 1) from None
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(f"missing column(s) {missing}; header has {header}", path, 1)
    table = TsvTable(path, header)
    pending, start = "", 0
    for lineno, raw in enumerate(it, start=2):
        if _ends_with_escaped_newline(raw):  # the record continues on the next physical line
            pending, start = pending + raw, start or lineno
            continue
        text, first = pending + raw.rstrip("\r\n"), start or lineno
        pending, start = "", 0
        if text == "":  # a blank line is not a record (a row of empty fields still has its tabs)
            continue
        fields = _split_fields(text)
        if len(fields) != len(header):
            message = f"wrong number of fields ({len(fields)}, expected {len(header)})"
            if first != lineno:
                message += (f" in lines {first}-{lineno} read as one row: line {first} ends with a backslash, "
                            "which escapes its line break")
            _bad_row(table, skips, first, message, lang)
            continue
        table.rows.append((first, dict(zip(header, fields))))
    if pending:  # the last line ended with a backslash: nothing follows the escaped line break
        _bad_row(table, skips, start, "the file ends inside a row: its last line ends with a backslash, which "
                 "escapes the line break", lang)
    return table


def _bad_row(table: TsvTable, skips: SkipLog | None, line: int, message: str, lang: str | None) -> None:
    if skips is None:
        raise DataError(message, table.path, line)
    skips.skip("bad_row", table.path, line, message, lang=lang)


def read_tsv(path: str | Path, skips: SkipLog | None = None, required: tuple[str, ...] = (),
             lang: str | None = None) -> TsvTable:
    """Read a CoVoST/Common Voice TSV file; non-UTF-8 lines are ``bad_row`` skips."""
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path)
    data = path.read_bytes()
    lines: list[str] = []
    for lineno, raw in enumerate(io.BytesIO(data), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            if skips is None or lineno == 1:
                raise DataError("line is not valid UTF-8", path, lineno) from None
            skips.skip("bad_row", path, lineno, "line is not valid UTF-8", lang=lang)
            lines.append("\n")  # keep line numbering; an empty line is ignored by the parser
    return parse_tsv_lines(lines, path, skips, required, lang)


def escape_field(value: str, escape_quotes: bool = False) -> str:
    """Escape a field the way Python's csv writer does with QUOTE_NONE and ``escapechar="\\"`` (pandas
    ``to_csv``, used for the CoVoST TSVs, also escapes ``"``; Common Voice's own TSVs leave quotes raw)."""
    special = "\\\t\n\r" + ('"' if escape_quotes else "")
    return "".join("\\" + ch if ch in special else ch for ch in value)


def write_tsv(path: str | Path, header: list[str], rows: Iterable[dict[str, str]],
              escape_quotes: bool = False) -> None:
    """Write a TSV in the release format (UTF-8, ``\\n`` line ends, no quoting, backslash escapes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\t".join(header) + "\n")
        for row in rows:
            f.write("\t".join(escape_field(str(row.get(c, "")), escape_quotes) for c in header) + "\n")
    tmp.replace(path)
