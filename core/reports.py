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
PDF_MAX_ROWS rows (and says so); the CSV always has every row. The words the
writers add themselves ("generated", "yes", "No rows.", ...) are in the active
language: build and write a report inside `translation.override(language)`.
"""

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext as _

from core.exports import CsvWriter

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

PDF_MAX_ROWS = 5000
# Without a font file, Japanese text names Adobe's standard Japanese font, which the PDF cannot carry: the reader's
# viewer substitutes one it has. With settings.PDF_JAPANESE_FONT_FILE (a TrueType file) the glyphs used are embedded.
STANDARD_JAPANESE_FONT = "HeiseiKakuGo-W5"
EMBEDDED_JAPANESE_FONT = "JapaneseGothic"


def japanese_font() -> str:
    """The registered name of the font for Japanese text: the configured TrueType file (embedded, subset) if it
    exists, else the standard CID font."""
    from django.conf import settings
    from reportlab.pdfbase import pdfmetrics

    registered = pdfmetrics.getRegisteredFontNames()
    path = getattr(settings, "PDF_JAPANESE_FONT_FILE", "")
    if path and Path(path).is_file():
        if EMBEDDED_JAPANESE_FONT not in registered:
            from reportlab.pdfbase.ttfonts import TTFont

            pdfmetrics.registerFont(TTFont(EMBEDDED_JAPANESE_FONT, path))
        return EMBEDDED_JAPANESE_FONT
    if STANDARD_JAPANESE_FONT not in registered:
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        pdfmetrics.registerFont(UnicodeCIDFont(STANDARD_JAPANESE_FONT))
    return STANDARD_JAPANESE_FONT


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
    generated = timezone.localtime(report.generated_at).isoformat(timespec="seconds")
    writer.row([_("generated %(when)s") % {"when": generated}])
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
        return _("yes") if value else _("no")
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


class _PdfText:
    """Paragraph styles of the PDF report; text that Latin-1 cannot encode is set in the Japanese font."""

    def __init__(self) -> None:
        from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet

        self.japanese = japanese_font()
        self.styles = getSampleStyleSheet()
        self.cell = ParagraphStyle("cell", parent=self.styles["BodyText"], fontName="Helvetica", fontSize=8, leading=10)
        self.cell_right = ParagraphStyle("cell_right", parent=self.cell, alignment=2)
        self.head = ParagraphStyle("head", parent=self.cell, fontName="Helvetica-Bold")

    def paragraph(self, value: Any, style: Any) -> Any:
        """A table cell."""
        return self._paragraph(_pdf_text(value), style)

    def heading(self, text: str, style_name: str) -> Any:
        """A title, heading or note in one of reportlab's sample styles."""
        return self._paragraph(text, self.styles[style_name])

    def _paragraph(self, text: str, style: Any) -> Any:
        from xml.sax.saxutils import escape

        from reportlab.lib.styles import ParagraphStyle
        from reportlab.platypus import Paragraph

        if _needs_cjk(text):
            style = ParagraphStyle(f"{style.name}-ja", parent=style, fontName=self.japanese)
        return Paragraph(escape(text), style)


def _section_story(section: Section, text: _PdfText) -> list:
    """A section's heading, note and table (at most PDF_MAX_ROWS rows, header repeated on each page)."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import LongTable, Spacer

    story: list = [Spacer(1, 6 * mm), text.heading(section.title, "Heading2")]
    if section.note:
        story.append(text.heading(section.note, "BodyText"))
    data = [[text.paragraph(name, text.head) for name in section.columns]]
    shown = total = 0
    for row in section.rows:
        total += 1
        if shown < PDF_MAX_ROWS:
            numeric = [isinstance(v, (int, Decimal)) and not isinstance(v, bool) for v in row]
            data.append(
                [text.paragraph(v, text.cell_right if n else text.cell) for v, n in zip(row, numeric, strict=True)]
            )
            shown += 1
    if total == 0:
        story.append(text.heading(_("No rows."), "BodyText"))
        return story
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
        story.append(
            text.heading(
                _("%(shown)s of %(total)s rows shown; the CSV report has every row.")
                % {"shown": f"{shown:,}", "total": f"{total:,}"},
                "Italic",
            )
        )
    return story


def report_pdf(*, report: Report, out: "SupportsWrite[bytes]") -> None:
    """A landscape A4 PDF: the title, then one table per section (header repeated on each page)."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    text = _PdfText()
    story: list = [text.heading(report.title, "Title")]
    if report.subtitle:
        story.append(text.heading(report.subtitle, "Heading3"))
    generated = timezone.localtime(report.generated_at).strftime("%Y-%m-%d %H:%M %Z")
    story.append(text.heading(_("Generated %(when)s") % {"when": generated}, "BodyText"))
    for section in report.sections:
        story += _section_story(section, text)

    def footer(canvas: Any, document: Any) -> None:
        line = _("%(title)s - page %(page)s") % {"title": report.title, "page": document.page}
        canvas.saveState()
        canvas.setFont(text.japanese if _needs_cjk(line) else "Helvetica", 7)
        canvas.drawRightString(document.pagesize[0] - 12 * mm, 8 * mm, line)
        canvas.restoreState()

    document = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title=report.title,
        author=_("Breach compensation claims"),
    )
    document.build(story, onFirstPage=footer, onLaterPages=footer)


def facts_pdf(
    *,
    title: str,
    rows: Sequence[tuple[str, str]],
    out: "SupportsWrite[bytes]",
    qr_text: str = "",
    qr_caption: str = "",
    notes: Sequence[str] = (),
    details_title: str = "",
    details: Sequence[tuple[str, str]] = (),
) -> None:
    """A portrait A4 PDF of labelled facts (a receipt): the title, a two-column table, a QR code, notes, details.

    Japanese text is set in the Japanese font (japanese_font), as in the reports.
    """
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

    text = _PdfText()
    label_style = text.head.clone("fact-label", fontSize=10, leading=13)
    value_style = text.cell.clone("fact-value", fontSize=10, leading=13)

    def table(pairs: Sequence[tuple[str, str]]) -> Any:
        grid = Table(
            [[text.paragraph(label, label_style), text.paragraph(value, value_style)] for label, value in pairs],
            colWidths=[55 * mm, 120 * mm],
        )
        grid.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ]
            )
        )
        return grid

    story: list = [text.heading(title, "Title"), table(rows), Spacer(1, 6 * mm)]
    if qr_text:
        widget = QrCodeWidget(qr_text)
        x0, y0, x1, y1 = widget.getBounds()
        size = 32 * mm
        drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
        drawing.add(widget)
        story += [drawing, text.heading(qr_caption or qr_text, "BodyText"), Spacer(1, 4 * mm)]
    story += [text.heading(note, "BodyText") for note in notes]
    if details:
        story += [Spacer(1, 4 * mm), text.heading(details_title, "Heading4"), table(details)]
    SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=16 * mm,
        rightMargin=16 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=title,
        author=_("Breach compensation claims"),
    ).build(story)
