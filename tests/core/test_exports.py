"""The streamed export helper: CSV and JSON Lines over a queryset iterator, in flat memory."""

import csv
import io
import json
import tracemalloc
from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.translation import gettext_lazy, pgettext_lazy

from audit.models import Event
from core.exports import ROWS_PER_CHUNK, Column, CsvWriter, csv_cell, csv_chunks, jsonl_chunks, stream_csv
from core.roles import Role
from tests.support.audit import record_bulk

ROWS = [
    {"id": 1, "name": "佐藤", "amount": 1_000_000, "rate": Decimal("0.8125"), "note": None},
    {"id": 2, "name": '=HYPERLINK("x")', "amount": -5, "rate": Decimal("1"), "note": {"k": [1, 2]}},
]
COLUMNS = [Column("id"), Column("name"), Column("amount"), Column("rate"), Column("note")]


def test_csv_has_a_bom_a_header_and_exact_values():
    text = b"".join(csv_chunks(rows=ROWS, columns=COLUMNS)).decode("utf-8")
    assert text.startswith("\ufeffid,name,amount,rate,note\r\n")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[1] == ["1", "佐藤", "1000000", "0.8125", ""]
    assert rows[2][2] == "-5"  # numbers are not touched
    assert json.loads(rows[2][4]) == {"k": [1, 2]}


def test_csv_cells_that_a_spreadsheet_would_run_are_defused():
    text = b"".join(csv_chunks(rows=ROWS, columns=COLUMNS)).decode("utf-8")
    assert list(csv.reader(io.StringIO(text)))[2][1] == '\'=HYPERLINK("x")'


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+81 3 1234", "'+81 3 1234"),
        ("-2", "'-2"),  # text that looks like a number is still text: shown, never computed
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("a=b", "a=b"),  # only the first character matters
        ("", ""),
    ],
)
def test_text_a_spreadsheet_would_run_gets_a_leading_quote(text, written):
    assert csv_cell(text) == written


def test_numbers_we_produce_are_written_as_numbers():
    assert csv_cell(-5) == -5
    assert csv_cell(Decimal("-0.25")) == Decimal("-0.25")
    assert csv_cell(None) == ""
    assert csv_cell(True) is True


@pytest.mark.parametrize(
    "control",
    [
        "\u202a",
        "\u202b",
        "\u202c",
        "\u202d",
        "\u202e",
        "\u2066",
        "\u2067",
        "\u2068",
        "\u2069",
        "\u200e",
        "\u200f",
        "\u061c",
    ],
)
def test_bidirectional_controls_are_stripped_from_text(control):
    assert csv_cell(f"佐藤{control}txt.exe") == "佐藤txt.exe"


def test_a_control_cannot_hide_a_formula():
    assert csv_cell("\u202e=HYPERLINK(1)") == "'=HYPERLINK(1)"


def test_the_writer_applies_the_rule_to_every_cell_of_a_row():
    out = io.StringIO()
    CsvWriter(out).row(["=x", -5, "ok\u202e", {"k": "=v"}])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["'=x", "-5", "ok", '{"k": "=v"}']]
    assert out.getvalue().endswith("\r\n")


def test_jsonl_keeps_decimals_exact_and_utf8():
    lines = b"".join(jsonl_chunks(rows=ROWS, columns=COLUMNS)).decode("utf-8").splitlines()
    first = json.loads(lines[0])
    assert first == {"id": 1, "name": "佐藤", "amount": 1_000_000, "rate": "0.8125", "note": None}
    assert "佐藤" in lines[0]


def test_columns_read_attributes_or_functions():
    class Row:
        seq = 7

    chunks = list(csv_chunks(rows=[Row()], columns=[Column("seq"), Column("double", lambda r: r.seq * 2)], bom=False))
    assert b"".join(chunks) == b"seq,double\r\n7,14\r\n"


LABELLED = [
    Column("ref", label=pgettext_lazy("claim", "Reference")),
    Column("amount", label=gettext_lazy("Amount")),
    Column("rate"),  # no label: the field name
]


def test_the_csv_header_is_the_labels_in_the_active_language_and_jsonl_keys_are_the_field_names():
    rows = [{"ref": "C-1", "amount": 5, "rate": Decimal("0.5")}]
    with translation.override("en"):
        english = b"".join(csv_chunks(rows=rows, columns=LABELLED, bom=False))
        english_jsonl = b"".join(jsonl_chunks(rows=rows, columns=LABELLED))
    with translation.override("ja"):
        japanese = b"".join(csv_chunks(rows=rows, columns=LABELLED, bom=False))
        japanese_jsonl = b"".join(jsonl_chunks(rows=rows, columns=LABELLED))
    assert english == b"Reference,Amount,rate\r\nC-1,5,0.5\r\n"
    assert japanese.decode("utf-8") == "請求番号,金額,rate\r\nC-1,5,0.5\r\n"
    assert json.loads(english_jsonl) == json.loads(japanese_jsonl) == {"ref": "C-1", "amount": 5, "rate": "0.5"}


def test_the_header_is_in_the_language_of_the_request_not_of_whoever_reads_the_chunks_later():
    with translation.override("ja"):
        chunks = csv_chunks(rows=[], columns=LABELLED, bom=False)
    with translation.override("en"):
        assert b"".join(chunks).decode("utf-8") == "請求番号,金額,rate\r\n"


def test_rows_are_sent_in_chunks_not_all_at_once():
    rows = [{"id": i} for i in range(ROWS_PER_CHUNK * 3 + 1)]
    chunks = list(csv_chunks(rows=rows, columns=[Column("id")]))
    assert len(chunks) == 4
    assert list(jsonl_chunks(rows=rows, columns=[Column("id")])).__len__() == 4


def test_response_is_a_streamed_attachment():
    response = stream_csv(rows=ROWS, columns=COLUMNS, filename="x.csv")
    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
@pytest.mark.slow
def test_a_large_queryset_streams_in_flat_memory(api_as):
    """40,000 events exported through the API: peak memory stays far below holding the rows at once."""
    record_bulk(40_000)
    client = api_as(Role.REGULATOR)
    response = client.get("/api/regulator/audit/", {"format": "csv"})

    tracemalloc.start()
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\r\n")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert lines == 40_000 + 1 + 1  # header, the bulk events, and this request's own regulator.viewed event
    assert size > 3_500_000
    # Holding the export would need at least its size (3.5+ MB), the rows as objects several times that;
    # streaming holds one fetch of ITERATOR_CHUNK_SIZE rows and one chunk of text.
    assert peak < 3_000_000, f"peak {peak} bytes for a {size}-byte export"
    assert Event.objects.count() == 40_001
