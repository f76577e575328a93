"""The reserves sections of the quarterly report: payouts, reserve movements, insurer settlements.

In English unless a test asks for Japanese (the site's default language is Japanese).
"""

import datetime as dt

import pytest
from django.utils import timezone, translation

from core.reports import quarter_bounds
from core.roles import Role
from reserves.models import Payout
from reserves.selectors.report import reserve_report_sections
from tests.support.factories import PASSWORD, user_with_role
from tests.support.money import reserve_fund
from tests.support.regulator import clock_at, paid_scenario

pytestmark = pytest.mark.django_db


def this_quarter() -> str:
    today = timezone.localdate()
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def sections(monkeypatch, django_capture_on_commit_callbacks):
    """¥100,000 funded in an earlier quarter (the opening balance), then the paid scenario in this one."""
    with clock_at(monkeypatch, timezone.now() - dt.timedelta(days=100)):
        reserve_fund(100_000)
    paid_scenario(django_capture_on_commit_callbacks)
    start, end = quarter_bounds(this_quarter())
    return {s.title: s for s in reserve_report_sections(start=start, end=end)}


def test_payouts_by_incident_and_by_source(sections):
    by_title = sections
    # The ¥100,000 of the earlier quarter let reg-a draw ¥600,000 of the reserve: 60 % then 90 % with insurance.
    assert [tuple(row) for row in by_title["Payouts paid by incident"].rows] == [
        ("reg-a", 6, 900_000, 600_000, 300_000, 0, 0),
        ("reg-b", 2, 200_000, 200_000, 0, 1, 30_000),
        ("total", 8, 1_100_000, 800_000, 300_000, 1, 30_000),
    ]
    assert [tuple(row) for row in by_title["Payouts paid by source of funds"].rows] == [
        ("liability reserve", 5, 800_000),
        ("Kaijo Test Insurance REG-POL (policy:REG-POL)", 3, 300_000),
    ]
    paid = Payout.objects.filter(status="paid")
    assert sum(p.amount_jpy for p in paid) == 1_100_000


def test_failures_are_listed_with_their_reason(sections):
    by_title = sections
    failed = Payout.objects.get(status="failed")
    assert [tuple(row) for row in by_title["Payout failures"].rows] == [
        (failed.pk, "reg-b", "B3", 30_000, 1, failed.updated_at, "sandbox: account closed")
    ]


def test_reserve_movements_with_opening_and_closing_balance(sections):
    by_title = sections
    assert [tuple(row) for row in by_title["Reserve movements"].rows] == [
        ("opening balance", "", "", 100_000),
        ("Funding", "", 1, 730_000),
        ("Drawn for an incident", "reg-a", 1, -600_000),
        ("Drawn for an incident", "reg-b", 2, -230_000),
        ("closing balance", "", "", 0),
    ]


def test_insurer_settlements_received(sections):
    by_title = sections
    assert [tuple(row) for row in by_title["Insurance recoveries settled"].rows] == [
        ("Kaijo Test Insurance", "REG-POL", 1, "reg-a", 1, 300_000, 300_000, 300_000, "Settled")
    ]


def test_an_earlier_quarter_holds_only_its_funding(sections):
    start, _end = quarter_bounds(this_quarter())
    earlier = {s.title: s for s in reserve_report_sections(start=start - dt.timedelta(days=200), end=start)}

    assert [tuple(row) for row in earlier["Reserve movements"].rows] == [
        ("opening balance", "", "", 0),
        ("Funding", "", 1, 100_000),
        ("closing balance", "", "", 100_000),
    ]
    assert list(earlier["Payouts paid by incident"].rows) == []
    assert list(earlier["Insurance recoveries settled"].rows) == []


def test_the_quarterly_report_download_includes_the_reserves_sections(sections, client):
    user = user_with_role(Role.REGULATOR)
    client.login(username=user.username, password=PASSWORD)

    text = client.get(f"/regulator/reports/{this_quarter()}.csv", HTTP_ACCEPT_LANGUAGE="en").content.decode("utf-8-sig")
    pdf = client.get(f"/regulator/reports/{this_quarter()}.pdf", HTTP_ACCEPT_LANGUAGE="en")

    for title in ("Payouts paid by incident", "Reserve movements", "Insurance recoveries settled", "Regulator access"):
        assert title in text
    assert "reg-b,2,200000,200000,0,1,30000" in text
    assert pdf.content.startswith(b"%PDF-")


def test_in_japanese_titles_columns_fixed_rows_and_labels_are_translated(sections):
    start, end = quarter_bounds(this_quarter())
    with translation.override("ja"):
        japanese = {s.title: s for s in reserve_report_sections(start=start, end=end)}

    assert list(japanese) == [
        "事故別の支払実績",
        "資金源別の支払実績",
        "支払の失敗",
        "責任準備金の増減",
        "保険金の精算",
    ]
    assert list(japanese["責任準備金の増減"].columns) == ["増減の種類", "事故", "振替件数", "円（＋入金、－出金）"]  # noqa: RUF001
    assert [tuple(row) for row in japanese["責任準備金の増減"].rows] == [
        ("期首残高", "", "", 100_000),
        ("積立", "", 1, 730_000),  # the transfer kind's label (reserves_tags.TRANSFER_KINDS)
        ("事故対応への引出し", "reg-a", 1, -600_000),
        ("事故対応への引出し", "reg-b", 2, -230_000),
        ("期末残高", "", "", 0),
    ]
    assert next(iter(japanese["資金源別の支払実績"].rows))[0] == "責任準備金"
    assert list(japanese["事故別の支払実績"].rows)[-1][0] == "合計"
    assert next(iter(japanese["保険金の精算"].rows))[-1] == "精算済み"  # the recovery's status by its label
