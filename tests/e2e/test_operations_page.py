"""In a real browser: a reviewer finds the operations page in the menu and sees failed payouts, the reserve and
the checkpoint at a glance, on a desktop and on a phone."""

import pytest

from audit.checkpoints import checkpoint_create
from core.roles import Role
from reserves.models import Payout
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD, user_with_role
from tests.support.login import browser_login
from tests.support.money import fund_open, register, reserve_fund

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_operations_page_shows_failures_reserve_and_checkpoint(page, tmp_path, settings):
    settings.SANDBOX_RAIL_FAILURE_RATE = 1.0
    settings.PAYOUT_MAX_ATTEMPTS = 1
    settings.PAYOUT_RETRY_BASE_SECONDS = 0
    settings.RESERVE_MINIMUM_FLOOR_JPY = 1_000_000
    reserve_fund(100_000)
    fund = fund_open("e2e-ops")
    register(fund, {"OPS-1": 40_000, "OPS-2": 60_000})
    from reserves.tasks import incident_allocate

    incident_allocate("e2e-ops", "test")  # eager: every send fails
    assert Payout.objects.filter(status="failed").count() == 2
    checkpoint_create()

    browser_login(page, user_with_role(Role.REVIEWER).username, PASSWORD)
    page.click("[data-testid=nav-operations]")
    assert page.url.endswith("/staff/operations/")
    assert page.locator("[data-testid=ops-failed]").inner_text() == "2"
    assert page.locator("[data-testid=ops-payouts-chart] svg").is_visible()
    assert page.locator("[data-testid=ops-reserve-chart] svg").is_visible()
    assert "below its required minimum" in page.content()
    assert page.locator("[data-testid=ops-checkpoint]").get_attribute("data-stale") == "0"
    assert page.locator("[data-testid=readiness] tr[data-ok='1']").count() == 4
    screenshot(page, tmp_path / "operations.png")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.locator("[data-testid=ops-payouts-chart] svg").is_visible()
    # The page's own content fits the phone's width (the site's menu is the header's business).
    right = page.evaluate(
        "Math.max(...[...document.querySelectorAll('main *')].map(e => e.getBoundingClientRect().right))"
    )
    assert right <= 390 + 1, f"the operations page is wider than a phone ({right}px)"
    screenshot(page, tmp_path / "operations-phone.png")
