"""A regulator in a real browser: the incident summary with its charts of payment progress and claims."""

import pytest

from audit.models import Event
from core.roles import Role
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD, user_with_role
from tests.support.login import browser_login
from tests.support.regulator import SATO_JPY, SUZUKI_JPY, paid_incident

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_regulator_sees_an_incidents_payment_progress_and_claims(page, tmp_path):
    incident = paid_incident()
    regulator = user_with_role(Role.REGULATOR)
    browser_login(page, regulator.username, PASSWORD)

    page.goto("/regulator/incidents/")
    assert page.locator("[data-testid=incidents-chart] svg.chart").is_visible()
    screenshot(page, tmp_path / "regulator-incidents.png")
    page.click(f"[data-testid=incident-summaries] a:text-is('{incident.code}')")

    assert page.locator("[data-testid=affected]").inner_text() == "3"
    assert page.locator("[data-testid=paid]").inner_text() == f"¥{SATO_JPY + SUZUKI_JPY:,}"
    assert page.locator("[data-testid=days-first]").inner_text() == "1.0"
    paid_chart = page.locator("[data-testid=paid-chart] svg.chart")
    assert paid_chart.is_visible()
    assert paid_chart.locator("line.threshold").get_attribute("data-value") == f"{SATO_JPY + SUZUKI_JPY:,}"
    assert paid_chart.locator("circle.point").last.get_attribute("data-value") == f"{SATO_JPY + SUZUKI_JPY:,}"
    bars = page.locator("[data-testid=status-chart] svg.chart rect.bar")
    assert sorted(int(bars.nth(i).get_attribute("data-value")) for i in range(bars.count()))[-2:] == [1, 2]
    tallest = bars.nth(max(range(bars.count()), key=lambda i: int(bars.nth(i).get_attribute("data-value"))))
    assert tallest.bounding_box()["height"] > 50  # drawn, not a zero-height mark
    screenshot(page, tmp_path / "regulator-incident.png")
    assert Event.objects.filter(action="regulator.viewed", actor=regulator.username).count() >= 2
