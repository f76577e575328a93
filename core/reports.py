"""Tabular reports (the quarterly report to the regulator) written as CSV and as PDF.

A report is a title and sections; a section is a title, column names and rows:

    report = Report(title="Quarterly report 2026 Q3", subtitle="2026-07-01 to 2026-09-30 (JST)",
                    sections=[Section("Payouts", ["claim", "amount (JPY)"], [("CLM-1", 8_854_900)])])
    report_csv(report=report, out=text_file)
    report_pdf(report=report, out=binary_file)

Rows are read once per format, so pass a list or a QuerySet (re-iterable), not
a generator, when writing both. Integers and Decimals are right-aligned and
shown exactly (integers with thousands separators in the PDF); the PDF uses a
Japanese font for text that needs one. A PDF section shows at most
PDF_MAX_ROWS rows (and says so); the CSV always has every row.
"""

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from core.exports import CsvWriter

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

PDF_MAX_ROWS = 5000
JAPANESE_FONT = "HeiseiKakuGo-W5"


@dataclass(frozen=True)
class Section:
    title: str
    columns: Sequence[str]
    rows: Iterable[Sequence[Any]]
    note: str = ""


@dataclass(frozen=True)
class Report:
    title: str
    sections: Sequence[Section]
    subtitle: str = ""
    generated_at: dt.datetime = field(default_factory=timezone.now)


_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)


def quarter_bounds(quarter: str) -> tuple[dt.datetime, dt.datetime]:
    """("2026Q3" or "2026-Q3") -> (start, end) in the site's time zone; `end` is exclusive."""
    match = _QUARTER.match(quarter.strip())
    if match is None:
        raise ValueError(f"not a quarter: {quarter!r} (expected e.g. 2026Q3)")
    year, number = int(match.group(1)), int(match.group(2))
    first_month = 3 * (number - 1) + 1
    start = dt.date(year, first_month, 1)
    end = dt.date(year + (first_month == 10), (first_month + 3 - 1) % 12 + 1, 1)
    zone = timezone.get_current_timezone()
    return (
        timezone.make_aware(dt.datetime.combine(start, dt.time.min), zone),
        timezone.make_aware(dt.datetime.combine(end, dt.time.min), zone),
    )


def _csv_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    return value


def report_csv(*, report: Report, out: "SupportsWrite[str]") -> None:
    """One CSV file: the title, then each section's title, header and rows, a blank line between sections."""
    writer = CsvWriter(out)
    writer.row([report.title])
    if report.subtitle:
        writer.row([report.subtitle])
    writer.row([f"generated {timezone.localtime(report.generated_at).isoformat(timespec='seconds')}"])
    for section in report.sections:
        writer.row([])
        writer.row([section.title])
        if section.note:
            writer.row([section.note])
        writer.row(section.columns)
        for row in section.rows:
            writer.row(_csv_value(value) for value in row)


def _pdf_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if timezone.is_aware(value) else str(value)
    return str(value)


def _needs_cjk(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return True
    return False


def report_pdf(*, report: Report, out: "SupportsWrite[bytes]") -> None:
    """A landscape A4 PDF: the title, then one table per section (header repeated on each page)."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer

    if JAPANESE_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(JAPANESE_FONT))
    styles = getSampleStyleSheet()
    cell = ParagraphStyle("cell", parent=styles["BodyText"], fontName="Helvetica", fontSize=8, leading=10)
    cell_right = ParagraphStyle("cell_right", parent=cell, alignment=2)
    head = ParagraphStyle("head", parent=cell, fontName="Helvetica-Bold")

    def paragraph(value: Any, style: ParagraphStyle) -> Paragraph:
        text = _pdf_text(value)
        if _needs_cjk(text):
            style = ParagraphStyle(f"{style.name}-ja", parent=style, fontName=JAPANESE_FONT)
        return Paragraph(escape(text), style)

    def heading(text: str, style_name: str) -> Paragraph:
        style = styles[style_name]
        if _needs_cjk(text):
            style = ParagraphStyle(f"{style_name}-ja", parent=style, fontName=JAPANESE_FONT)
        return Paragraph(escape(text), style)

    story: list = [heading(report.title, "Title")]
    if report.subtitle:
        story.append(heading(report.subtitle, "Heading3"))
    generated = timezone.localtime(report.generated_at).strftime("%Y-%m-%d %H:%M %Z")
    story.append(heading(f"Generated {generated}", "BodyText"))
    for section in report.sections:
        story += [Spacer(1, 6 * mm), heading(section.title, "Heading2")]
        if section.note:
            story.append(heading(section.note, "BodyText"))
        data = [[paragraph(name, head) for name in section.columns]]
        shown = total = 0
        for row in section.rows:
            total += 1
            if shown < PDF_MAX_ROWS:
                numeric = [isinstance(v, (int, Decimal)) and not isinstance(v, bool) for v in row]
                data.append([paragraph(v, cell_right if n else cell) for v, n in zip(row, numeric, strict=True)])
                shown += 1
        if total == 0:
            story.append(heading("No rows.", "BodyText"))
            continue
        table = LongTable(data, repeatRows=1)
        table.setStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f5")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#d9dee5")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f8f9fb")]),
            ]
        )
        story.append(table)
        if total > shown:
            story.append(heading(f"{shown:,} of {total:,} rows shown; the CSV report has every row.", "Italic"))

    def footer(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawRightString(document.pagesize[0] - 12 * mm, 8 * mm, f"{report.title} - page {document.page}")
        canvas.restoreState()

    document = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title=report.title,
        author="Breach compensation claims",
    )
    document.build(story, onFirstPage=footer, onLaterPages=footer)
