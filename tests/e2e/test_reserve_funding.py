"""In a real browser: two approvers fund the reserve (maker and checker), the alert goes; a failed payout is retried."""

import pytest

from core.roles import Role
from reserves.models import Payout
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD, user_with_role
from tests.support.login import browser_login
from tests.support.money import fund_open, register, reserve_fund

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_maker_and_checker_fund_the_reserve_in_the_browser(page, tmp_path, settings):
    settings.RESERVE_MINIMUM_FLOOR_JPY = 2_000_000_000
    maker, checker = user_with_role(Role.APPROVER), user_with_role(Role.APPROVER)

    browser_login(page, maker.username, PASSWORD)
    page.goto("/staff/reserve/")
    assert page.locator("[data-testid=reserve-alert]").is_visible()
    page.click("text=Request a funding")
    page.fill("input[name=amount_jpy]", "2500000000")
    page.fill("input[name=reference]", "MUFG-REMIT-77")
    page.click("[data-testid=funding-form] button[type=submit]")
    assert "another person must approve it" in page.content()
    # The maker is offered no approval of their own request.
    assert page.locator("[data-testid=fundings] button:has-text('Approve')").count() == 0
    screenshot(page, tmp_path / "maker.png")
    page.click("text=Log out")

    browser_login(page, checker.username, PASSWORD)
    page.goto("/staff/reserve/")
    page.click("[data-testid=fundings] button:has-text('Approve')")
    assert "MUFG-REMIT-77" in page.locator("[data-testid=confirm-summary]").inner_text()  # asks first
    page.click("[data-testid=confirm-yes]")
    assert page.locator("[data-testid=reserve-balance]").inner_text() == "¥2,500,000,000"
    assert page.locator("[data-testid=reserve-ok]").is_visible()
    screenshot(page, tmp_path / "checked.png")


def test_staff_retry_a_failed_payout_from_the_list(page, tmp_path, settings):
    settings.SANDBOX_RAIL_FAILURE_RATE = 1.0
    settings.PAYOUT_MAX_ATTEMPTS = 1
    settings.PAYOUT_RETRY_BASE_SECONDS = 0
    reserve_fund(100_000)
    fund = fund_open("e2e-pay")
    register(fund, {"E2E-1": 40_000, "E2E-2": 60_000})
    from reserves.tasks import incident_allocate

    incident_allocate("e2e-pay", "test")  # eager: allocates and sends, and every send fails
    assert set(Payout.objects.values_list("status", flat=True)) == {"failed"}
    settings.SANDBOX_RAIL_FAILURE_RATE = 0.0

    browser_login(page, user_with_role(Role.APPROVER).username, PASSWORD)
    page.goto("/staff/funds/e2e-pay/")
    assert "2 payouts failed" in page.locator("[data-testid=failed-alert]").inner_text()
    screenshot(page, tmp_path / "panel.png")
    page.goto("/staff/payouts/?status=failed")
    page.click("[data-testid=retry-all]")
    assert "2 payouts will be sent again" in page.content()
    assert set(Payout.objects.values_list("status", flat=True)) == {"paid"}
    page.goto("/staff/funds/e2e-pay/")
    assert page.locator("[data-testid=paid]").inner_text() == "¥100,000"
    screenshot(page, tmp_path / "paid.png")
