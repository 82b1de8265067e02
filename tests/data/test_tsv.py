"""CoVoST/Common Voice TSV reading and writing, checked against Python's csv module as the oracle."""

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soups.data.skips import SkipLog
from soups.data.tsv import escape_field, parse_tsv_lines, read_tsv, write_tsv
from soups.errors import DataError

# any text, including tabs, newlines, quotes and backslashes (no lone surrogates, no '\r' which csv folds)
field_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=30)


def csv_oracle_write(header, rows):
    buf = io.StringIO()
    w = csv.DictWriter(buf, header, delimiter="\t", escapechar="\\", quoting=csv.QUOTE_NONE, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(field_text, field_text), min_size=1, max_size=5))
def test_parse_inverts_the_csv_module_writer(pairs):
    rows = [{"path": a, "sentence": b} for a, b in pairs]
    table = parse_tsv_lines(io.StringIO(csv_oracle_write(["path", "sentence"], rows)), "x.tsv")
    assert [r for _, r in table.rows] == rows


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(field_text, field_text), min_size=1, max_size=5))
def test_our_writer_matches_the_csv_module_byte_for_byte(pairs):
    rows = [{"path": a, "sentence": b} for a, b in pairs]
    ours = "path\tsentence\n" + "".join(
        "\t".join(escape_field(r[c], escape_quotes=True) for c in ("path", "sentence")) + "\n" for r in rows)
    assert ours == csv_oracle_write(["path", "sentence"], rows)


def test_sentence_starting_with_a_quote_and_escaped_quotes():
    table = parse_tsv_lines(['path\tsentence', 'a\t"Oui", dit-il.', 'b\t\\"Non\\"'], "x.tsv")
    assert [r["sentence"] for _, r in table.rows] == ['"Oui", dit-il.', '"Non"']


def test_escaped_newline_keeps_the_line_number_of_the_record_start():
    table = parse_tsv_lines(["path\tsentence\n", "a\tline one\\\n", "line two\n", "b\tnext\n"], "x.tsv")
    assert table.rows == [(2, {"path": "a", "sentence": "line one\nline two"}), (4, {"path": "b", "sentence": "next"})]


def test_wrong_field_count_is_counted_or_located():
    lines = ["path\tsentence", "a\tfine", "b\tone\ttoo many", "c"]
    skips = SkipLog()
    table = parse_tsv_lines(lines, "v.tsv", skips)
    assert [r["path"] for _, r in table.rows] == ["a"] and skips.counts() == {"bad_row": 2}
    with pytest.raises(DataError, match=r"v.tsv:3: wrong number of fields \(3, expected 2\)"):
        parse_tsv_lines(lines, "v.tsv")


def test_missing_column_and_empty_file(tmp_path):
    with pytest.raises(DataError, match="missing column"):
        parse_tsv_lines(["path\ttext", "a\tb"], "x.tsv", required=("path", "sentence"))
    (tmp_path / "e.tsv").write_text("")
    with pytest.raises(DataError, match="empty file"):
        read_tsv(tmp_path / "e.tsv")
    with pytest.raises(DataError, match="file not found"):
        read_tsv(tmp_path / "none.tsv")


def test_non_utf8_line_is_a_located_skip(tmp_path):
    p = tmp_path / "v.tsv"
    p.write_bytes(b"path\tsentence\na\tok\nb\t\xff\xfe bad\nc\tok\n")
    skips = SkipLog()
    assert [r["path"] for _, r in read_tsv(p, skips).rows] == ["a", "c"]
    assert skips.counts() == {"bad_row": 1}
    with pytest.raises(DataError, match=r"v.tsv:3: line is not valid UTF-8"):
        read_tsv(p, SkipLog(strict=True))


def test_write_then_read_round_trip(tmp_path):
    rows = [{"path": "a.mp3", "sentence": 'Il a dit "\tbonjour\\"\n.'}]
    write_tsv(tmp_path / "t.tsv", ["path", "sentence"], rows, escape_quotes=True)
    assert [r for _, r in read_tsv(tmp_path / "t.tsv").rows] == rows
