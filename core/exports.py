"""The one CSV writer, and streamed CSV and JSON Lines downloads over a queryset iterator, for every app.

Every CSV the system produces (staff and regulator downloads, the quarterly
report) goes through `CsvWriter`, so every cell follows one rule (`csv_cell`):

- text that a spreadsheet would run as a formula (it starts with `= + - @`, a
  tab or a carriage return) gets a leading `'`, so it is shown, never run;
- Unicode bidirectional controls (U+202A to U+202E, U+2066 to U+2069, U+200E,
  U+200F, U+061C) are removed from text, so a name cannot reorder what a
  reader sees around it ("Trojan Source");
- numbers we produce (int yen, Decimal quantities and rates) are numbers, not
  text: they are written as they are, so an amount of -5 stays -5. A column
  that should be read as a number must give an int or a Decimal, never a string;
- None is an empty cell; dicts and lists are JSON (then treated as text).

Rows are read with `QuerySet.iterator(chunk_size=…)` (a server-side cursor on
PostgreSQL) and written to the client as they come, a batch of rows per chunk,
so a 1,000,000-row export uses the memory of one batch:

    columns = [Column("seq"), Column("time", lambda e: e.created_at.isoformat(), label=gettext_lazy("Time"))]
    return stream_csv(rows=events, columns=columns, filename="events.csv")

A column's `header` is its field name, for programs; its optional `label`
(gettext_lazy) is for people. The CSV header row is the labels, in the language
active when the download is asked for (the reader's, by LocaleMiddleware), and the
field name for a column without a label. JSON Lines keys are always the field
names, in every language: a program reads JSON Lines, whose keys never change.

In a DRF list API, mix in StreamedExportMixin: `?format=csv` / `?format=jsonl`
(or an Accept header) then selects the export, and `self.streamed_export(...)`
returns the streaming response (or None for the ordinary JSON page).
"""

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

if TYPE_CHECKING:
    from _typeshed import SupportsWrite
    from django_stubs_ext import StrOrPromise

ROWS_PER_CHUNK = 500
ITERATOR_CHUNK_SIZE = 2000
# Spreadsheets run cells starting with these as formulas (CSV injection); such text gets a leading quote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Bidirectional controls: embeddings, overrides, isolates and marks (Unicode 15, "Trojan Source").
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# A byte order mark makes spreadsheet programs read UTF-8 (Japanese names) correctly.
BOM = "\ufeff"


def csv_cell(value: Any) -> Any:
    """One cell as the CSV writer writes it (the rule in the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str):
        if not value.isascii():  # cheap first: most cells are ASCII and have no controls to strip
            value = BIDI_CONTROLS.sub("", value)
        if value.startswith(FORMULA_START):
            return "'" + value
    return value


class CsvWriter:
    """csv.writer with CR LF line ends whose every cell goes through `csv_cell`."""

    def __init__(self, out: "SupportsWrite[str]") -> None:
        self._writer = csv.writer(out, lineterminator="\r\n")

    def row(self, cells: Iterable[Any]) -> None:
        self._writer.writerow([csv_cell(cell) for cell in cells])


@dataclass(frozen=True)
class Column:
    """One exported field: a header and how to read it from a row (attribute/key name or a function).

    `header` is the field name (JSON Lines key; stable); `label`, when given, is what a person
    reads at the top of the CSV column, translated (gettext_lazy) into the active language.
    """

    header: str
    source: str | Callable[[Any], Any] | None = None
    label: "StrOrPromise | None" = None

    def title(self) -> str:
        """The CSV header cell: the label in the active language, else the field name."""
        return self.header if self.label is None else str(self.label)

    def value(self, row: Any) -> Any:
        source = self.source or self.header
        if callable(source):
            return source(row)
        if isinstance(row, dict):
            return row.get(source)
        return getattr(row, source)


def _iterate(rows: Iterable[Any]) -> Iterator[Any]:
    if isinstance(rows, QuerySet):
        return rows.iterator(chunk_size=ITERATOR_CHUNK_SIZE)
    return iter(rows)


def csv_chunks(*, rows: Iterable[Any], columns: Sequence[Column], bom: bool = True) -> Iterator[bytes]:
    """The CSV document in byte chunks: header, then ROWS_PER_CHUNK rows per chunk.

    The header cells are the columns' titles, translated now, in the language of the request
    that asked for the download: the server reads the chunks later, when another language may
    be active in the thread.
    """
    return _csv_chunks(rows=rows, columns=columns, titles=[column.title() for column in columns], bom=bom)


def _csv_chunks(*, rows: Iterable[Any], columns: Sequence[Column], titles: list[str], bom: bool) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = CsvWriter(buffer)
    writer.row(titles)
    prefix = BOM if bom else ""
    pending = 0
    for row in _iterate(rows):
        writer.row(column.value(row) for column in columns)
        pending += 1
        if pending == ROWS_PER_CHUNK:
            yield (prefix + buffer.getvalue()).encode("utf-8")
            prefix = ""
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield (prefix + buffer.getvalue()).encode("utf-8")


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)  # Decimal, UUID: exact text, never a float


def jsonl_chunks(*, rows: Iterable[Any], columns: Sequence[Column]) -> Iterator[bytes]:
    """JSON Lines: one object per row with the columns' headers (field names, never labels) as keys."""
    lines: list[str] = []
    for row in _iterate(rows):
        record = {column.header: column.value(row) for column in columns}
        lines.append(json.dumps(record, ensure_ascii=False, default=_json_default))
        if len(lines) == ROWS_PER_CHUNK:
            yield ("\n".join(lines) + "\n").encode("utf-8")
            lines = []
    if lines:
        yield ("\n".join(lines) + "\n").encode("utf-8")


def _attachment(chunks: Iterator[bytes], *, content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def stream_csv(*, rows: Iterable[Any], columns: Sequence[Column], filename: str) -> StreamingHttpResponse:
    return _attachment(
        csv_chunks(rows=rows, columns=columns), content_type="text/csv; charset=utf-8", filename=filename
    )


def stream_jsonl(*, rows: Iterable[Any], columns: Sequence[Column], filename: str) -> StreamingHttpResponse:
    return _attachment(
        jsonl_chunks(rows=rows, columns=columns), content_type="application/x-ndjson; charset=utf-8", filename=filename
    )


def stream_export(
    *, export_format: str, rows: Iterable[Any], columns: Sequence[Column], filename_stem: str
) -> StreamingHttpResponse:
    """stream_csv or stream_jsonl by format name ("csv" or "jsonl")."""
    if export_format == "csv":
        return stream_csv(rows=rows, columns=columns, filename=f"{filename_stem}.csv")
    return stream_jsonl(rows=rows, columns=columns, filename=f"{filename_stem}.jsonl")


class CSVRenderer(BaseRenderer):
    """Lets DRF accept ?format=csv; the view streams the body itself (see StreamedExportMixin)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return JSONRenderer().render(data)


class JSONLinesRenderer(CSVRenderer):
    media_type = "application/x-ndjson"
    format = "jsonl"


EXPORT_FORMATS = ("csv", "jsonl")


class StreamedExportMixin(APIView):
    """For DRF APIViews (list it first among the bases): ?format=csv and ?format=jsonl streamed exports.

    Errors stay JSON, whatever format was asked for.
    """

    def get_renderers(self) -> list[BaseRenderer]:
        return [*super().get_renderers(), CSVRenderer(), JSONLinesRenderer()]

    def export_format(self) -> str | None:
        renderer = getattr(self.request, "accepted_renderer", None)
        return renderer.format if renderer is not None and renderer.format in EXPORT_FORMATS else None

    def streamed_export(
        self, *, rows: Iterable[Any], columns: Sequence[Column], filename_stem: str
    ) -> StreamingHttpResponse | None:
        """The streamed download when an export format was asked for, else None."""
        export_format = self.export_format()
        if export_format is None:
            return None
        return stream_export(export_format=export_format, rows=rows, columns=columns, filename_stem=filename_stem)

    def handle_exception(self, exc: Exception) -> Response:
        if self.export_format() is not None:  # an error body is JSON, whatever format was asked for
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)
