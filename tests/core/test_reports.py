"""The report renderer: CSV and a real PDF that contains the rows; its own words in the active language."""

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from pypdf import PdfReader

from core import reports
from core.reports import Report, Section, quarter_bounds, report_csv, report_pdf

JST = ZoneInfo("Asia/Tokyo")


@pytest.fixture(autouse=True)
def english():
    """The writer's words ("No rows.", "generated ...") in English, unless a test asks for Japanese."""
    with translation.override("en"):
        yield


def sample() -> Report:
    return Report(
        title="Quarterly report 2026 Q2",
        subtitle="2026-04-01 to 2026-06-30 (Asia/Tokyo)",
        generated_at=dt.datetime(2026, 7, 1, 9, 0, tzinfo=JST),
        sections=[
            Section(
                "Payouts",
                ["claim", "customer", "amount (JPY)", "rate", "paid at"],
                [
                    (
                        "CLM-000001",
                        "Sato Haruto",
                        8_854_900,
                        Decimal("0.8125"),
                        dt.datetime(2026, 5, 1, 10, tzinfo=JST),
                    ),
                    ("CLM-000002", "佐藤 陽翔", 1_000, Decimal("1"), None),
                ],
            ),
            Section("Reserve movements", ["date", "movement", "amount (JPY)"], [], note="No movements."),
        ],
    )


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_pdf_is_a_valid_pdf_containing_the_rows():
    out = io.BytesIO()
    report_pdf(report=sample(), out=out)
    data = out.getvalue()

    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata.title == "Quarterly report 2026 Q2"
    text = pdf_text(data)
    for expected in (
        "Quarterly report 2026 Q2",
        "Payouts",
        "CLM-000001",
        "Sato Haruto",
        "8,854,900",
        "0.8125",
        "2026-05-01 10:00",
        "CLM-000002",
        "佐藤 陽翔",
        "Reserve movements",
        "No rows.",
    ):
        assert expected in text, expected


def test_long_sections_span_pages_and_say_when_cut(monkeypatch):
    monkeypatch.setattr(reports, "PDF_MAX_ROWS", 300)
    rows = [(f"CLM-{i:06d}", i * 1000) for i in range(400)]
    out = io.BytesIO()
    report_pdf(report=Report(title="Long", sections=[Section("Payouts", ["claim", "amount"], rows)]), out=out)

    reader = PdfReader(io.BytesIO(out.getvalue()))
    text = pdf_text(out.getvalue())
    assert len(reader.pages) > 3
    assert "CLM-000299" in text
    assert "CLM-000300" not in text
    assert "300 of 400 rows shown" in text
    assert text.count("claim") >= len(reader.pages) - 1  # header repeated on each page


def test_csv_has_every_section_and_exact_values():
    out = io.StringIO()
    report_csv(report=sample(), out=out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))

    assert rows[0] == ["Quarterly report 2026 Q2"]
    assert ["Payouts"] in rows
    header = rows.index(["claim", "customer", "amount (JPY)", "rate", "paid at"])
    assert rows[header + 1] == ["CLM-000001", "Sato Haruto", "8854900", "0.8125", "2026-05-01T10:00:00+09:00"]
    assert rows[header + 2] == ["CLM-000002", "佐藤 陽翔", "1000", "1", ""]
    assert ["No movements."] in rows


def test_the_writers_own_words_follow_the_active_language():
    report = Report(
        title="四半期報告書",
        generated_at=dt.datetime(2026, 7, 1, 9, 0, tzinfo=JST),
        sections=[Section("支払", ["請求", "承認済み"], [("CLM-1", True)]), Section("空", ["請求"], [])],
    )
    out, text = io.BytesIO(), io.StringIO()
    with translation.override("ja"):
        report_pdf(report=report, out=out)
        report_csv(report=report, out=text)

    pdf = pdf_text(out.getvalue())
    for expected in ("作成日時 2026-07-01 09:00", "はい", "該当する行はありません。", "四半期報告書 - 1 ページ"):
        assert expected in pdf, expected
    assert "No rows." not in pdf and "Generated" not in pdf and "page" not in pdf
    assert list(csv.reader(io.StringIO(text.getvalue())))[1] == ["作成日時 2026-07-01T09:00:00+09:00"]


@pytest.mark.parametrize(
    ("quarter", "start", "end"),
    [
        ("2026Q1", dt.datetime(2026, 1, 1), dt.datetime(2026, 4, 1)),
        ("2026-q4", dt.datetime(2026, 10, 1), dt.datetime(2027, 1, 1)),
    ],
)
def test_quarter_bounds_are_in_japan_time_end_exclusive(quarter, start, end):
    assert quarter_bounds(quarter) == (start.replace(tzinfo=JST), end.replace(tzinfo=JST))


@pytest.mark.parametrize("bad", ["2026Q5", "Q3", "2026", ""])
def test_bad_quarters_are_refused(bad):
    with pytest.raises(ValueError, match="not a quarter"):
        quarter_bounds(bad)
