"""A regulator in a real browser: the reserve against its minimum (SVG chart), the payout history, insurance usage."""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from audit.models import Event
from core.roles import Role
from reserves.models import Payout
from tests.support.factories import PASSWORD, user_with_role
from tests.support.login import browser_login
from tests.support.money import fund_open, register, reserve_fund
from tests.support.regulator import clock_at, paid_scenario

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_regulator_checks_the_reserve_chart_and_the_payout_history(page, tmp_path, settings, monkeypatch):
    """60 days ago the reserve was funded above its minimum; 30 days ago an old incident drew all of it; today the
    paid scenario (tests/support/regulator.py) funds and spends ¥730,000 more."""
    settings.RESERVE_MINIMUM_FLOOR_JPY = 1_000_000
    now = timezone.now()
    with clock_at(monkeypatch, now - dt.timedelta(days=60)):
        reserve_fund(1_500_000)
    with clock_at(monkeypatch, now - dt.timedelta(days=30)):
        register(fund_open("reg-old", detected_at=now - dt.timedelta(days=31)), {"O1": 1_500_000})
    paid_scenario()
    assert Payout.objects.count() == 10
    regulator = user_with_role(Role.REGULATOR)

    browser_login(page, regulator.username, PASSWORD)
    page.goto("/regulator/reserve/")
    assert page.locator("[data-testid=reserve-alert]").is_visible()  # ¥0 left against a ¥1,000,000 minimum
    assert "¥1,000,000 short" in page.locator("[data-testid=reserve-alert]").inner_text()
    chart = page.locator("[data-testid=reserve-chart] svg.chart")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 400 and box["height"] > 150
    assert chart.locator("polyline.series").count() == 1
    assert chart.locator("circle.point").count() == 90  # one point per day, the last 90 days
    assert chart.locator("line.threshold").get_attribute("data-value") == "1,000,000"
    values = [
        int(v.replace(",", ""))
        for v in chart.locator("circle.point").evaluate_all("points => points.map(p => p.getAttribute('data-value'))")
    ]
    assert values[0] == 0 and values[-1] == 0 and max(values) == 1_500_000
    assert values.count(1_500_000) == 30  # the days between the funding and the old incident's draw
    assert page.locator("[data-testid=movements] tbody tr").count() == 6  # two fundings and four draws
    page.screenshot(path=str(tmp_path / "regulator-reserve.png"), full_page=True)

    page.click("[data-testid=nav-regulator-payouts]")
    page.wait_for_url("**/regulator/payouts/")
    assert page.locator("[data-testid=payouts] tbody tr").count() == 10
    assert page.locator("[data-testid=total-amount]").inner_text() == "¥2,530,000"
    page.select_option("select[name=incident]", "reg-a")
    page.select_option("select[name=source]", "policy:REG-POL")
    page.click("[data-testid=payout-filters] button[type=submit]")
    rows = page.locator("[data-testid=payouts] tbody tr")
    assert rows.count() == 3
    assert sorted(rows.nth(i).get_attribute("data-payout") for i in range(3)) == sorted(
        str(p.pk) for p in Payout.objects.filter(fund__incident_code="reg-a", allocation__seq=2)
    )
    assert page.locator("[data-testid=total-insurance]").inner_text() == "¥300,000"
    page.screenshot(path=str(tmp_path / "regulator-payouts.png"), full_page=True)
    with page.expect_download() as download:
        page.click("[data-testid=export-csv]")
    assert download.value.suggested_filename == "payouts.csv"
    lines = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 4 and all(",reg-a," in line for line in lines[1:])

    page.goto("/regulator/insurance/")
    assert page.locator("[data-testid=insurance-chart] svg.chart").is_visible()
    assert page.locator("[data-testid=insurance-chart] rect.bar").count() == 3
    page.screenshot(path=str(tmp_path / "regulator-insurance.png"), full_page=True)
    viewed = Event.objects.filter(action="regulator.viewed", actor=regulator.username)
    assert {e.data["path"] for e in viewed} >= {"/regulator/reserve/", "/regulator/payouts/", "/regulator/insurance/"}
