"""A regulator in a real browser: the reserve against its minimum (SVG chart), the payout history, insurance usage."""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from audit.models import Event
from core.roles import Role
from reserves.models import Payout
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD, user_with_role
from tests.support.login import browser_login, staff
from tests.support.money import fund_open, register, reserve_fund
from tests.support.regulator import clock_at, paid_scenario

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _legend_overlaps(chart) -> list:
    """Pairs of legend entries whose drawn boxes intersect (measured by the browser, fonts and all)."""
    return chart.evaluate(
        """svg => {
            const boxes = [...svg.querySelectorAll('g.legend')].map(g => g.getBBox());
            const out = [];
            boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b, j) => {
                if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height)
                    out.push([i, i + 1 + j]);
            }));
            const view = svg.viewBox.baseVal;
            boxes.forEach((a, i) => { if (a.x + a.width > view.width) out.push([i, 'outside']); });
            return out;
        }"""
    )


def test_japanese_legends_of_the_fund_charts_never_overlap(browser, live_server, tmp_path):
    reserve_fund(1_500_000)
    register(fund_open("reg-ja", detected_at=timezone.now() - dt.timedelta(days=3)), {"J1": 900_000, "J2": 700_000})
    approver = staff(Role.APPROVER)
    context = browser.new_context(base_url=live_server.url, locale="ja-JP", viewport={"width": 800, "height": 900})
    page = context.new_page()
    browser_login(page, approver.username, PASSWORD)
    page.goto("/staff/funds/reg-ja/")
    for testid in ("sources-chart", "progress-chart"):
        chart = page.locator(f"[data-testid={testid}] svg.chart")
        assert chart.is_visible()
        assert chart.locator("g.legend").count() >= 2
        assert _legend_overlaps(chart) == [], testid
    page.goto("/staff/reserve/")
    chart = page.locator("[data-testid=reserve-chart] svg.chart")
    assert chart.locator("line.threshold").count() == 1  # the required minimum on the staff chart too
    assert _legend_overlaps(chart) == []
    screenshot(page, tmp_path / "fund-charts-ja.png")
    context.close()


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
    # one point per day from the reserve's first funding (60 days ago) to today: days before it existed are not
    # days "below the minimum"
    assert chart.locator("circle.point").count() == 61
    assert chart.locator("line.threshold").get_attribute("data-value") == "1,000,000"
    values = [
        int(v.replace(",", ""))
        for v in chart.locator("circle.point").evaluate_all("points => points.map(p => p.getAttribute('data-value'))")
    ]
    assert values[0] == 1_500_000 and values[-1] == 0 and max(values) == 1_500_000
    assert values.count(1_500_000) == 30  # the days between the funding and the old incident's draw
    # Axes with their units, and the numbers as a table for whoever cannot read the chart.
    assert chart.locator("text.x-title").text_content().startswith("Date")
    assert chart.locator("text.y-title").text_content() == "Yen"
    assert "¥1M" in chart.locator("text.y-label").all_text_contents()
    figure = page.locator("[data-testid=reserve-chart] figure.chart-figure")
    assert "Below the minimum on" in figure.locator("figcaption").inner_text()
    figure.locator("details.chart-data summary").click()
    assert figure.locator("details.chart-data tbody tr").count() == 61
    assert _legend_overlaps(chart) == []
    assert page.locator("[data-testid=movements] tbody tr").count() == 6  # two fundings and four draws
    screenshot(page, tmp_path / "regulator-reserve.png")

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
    screenshot(page, tmp_path / "regulator-payouts.png")
    with page.expect_download() as download:
        page.click("[data-testid=export-csv]")
    assert download.value.suggested_filename == "payouts.csv"
    lines = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 4 and all(",reg-a," in line for line in lines[1:])

    page.goto("/regulator/insurance/")
    assert page.locator("[data-testid=insurance-chart] svg.chart").is_visible()
    assert page.locator("[data-testid=insurance-chart] rect.bar").count() == 3
    screenshot(page, tmp_path / "regulator-insurance.png")
    viewed = Event.objects.filter(action="regulator.viewed", actor=regulator.username)
    assert {e.data["path"] for e in viewed} >= {"/regulator/reserve/", "/regulator/payouts/", "/regulator/insurance/"}
