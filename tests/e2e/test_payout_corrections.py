"""In a real browser: a customer whose payment came back gives corrected details; a reviewer accepts them."""

import pytest

from claims.models import PayoutCorrection
from core.roles import Role
from reserves.models import Payout
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD, user_with_role
from tests.support.login import browser_login
from tests.support.money import reserve_fund
from tests.support.returns import approved_claim, bank_answer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_customer_corrects_a_returned_payment_and_a_reviewer_accepts(page, settings, tmp_path):
    settings.PAYOUT_BANK_RAIL = "zengin"
    reserve_fund(10_000_000_000)
    claim = approved_claim(language="en")
    assert Payout.objects.get().status == "submitted"
    bank_answer(settings, "returned", "02")

    browser_login(page, claim.customer.user.username, PASSWORD)
    page.goto(f"/claims/{claim.ref}/")
    returned = page.locator("[data-testid=payout-returned]")
    assert "came back" in returned.inner_text() and "The account is closed (02)" in returned.inner_text()
    returned.locator("input[value=bank]").check()
    for name, value in {
        "bank_code": "0005",
        "branch_code": "001",
        "account_number": "7654321",
        "holder_name": "サトウ ハルト",
        "password": PASSWORD,
    }.items():
        returned.locator(f"input[name=fix-{name}]").fill(value)
    screenshot(page, tmp_path / "correction-form.png")
    returned.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "A reviewer will check" in page.content()
    assert PayoutCorrection.objects.get().status == "pending_review"
    page.click("header button:has-text('Log out')")

    reviewer = user_with_role(Role.REVIEWER)
    browser_login(page, reviewer.username, PASSWORD)
    page.goto("/staff/payout-corrections/")
    row = page.locator("[data-testid=corrections] tbody tr").first
    assert "7654321"[-3:] in row.inner_text() and "✓" in row.inner_text()  # the holder name matches
    screenshot(page, tmp_path / "corrections-queue.png")
    row.locator("button[value=accept]").click()
    page.wait_for_load_state("networkidle")
    assert PayoutCorrection.objects.get().status == "accepted"
