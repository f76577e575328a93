"""Staff in a real browser: review, four-eyes approval with TOTP, bulk approval of a batch."""

from decimal import Decimal

import pytest

from claims import services
from claims.models import Claim, ClaimBatch, Customer
from core.roles import Role
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD, claim_file, incident_with_snapshot, user_with_role
from tests.support.login import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROWS = [
    ("ACC-1", "Sato Haruto", "sato@example.jp", "XEM", "100"),
    ("ACC-2", "Suzuki Yui", "suzuki@example.jp", "XEM", "20"),
    ("ACC-3", "Kato Ren", "kato@example.jp", "BTC", "0.5"),
]


def test_reviewer_adjusts_and_recommends_then_another_approver_approves(browser, live_server, tmp_path):
    incident = incident_with_snapshot(ROWS)
    claim = claim_file(
        Customer.objects.get(account_id="ACC-1"),
        incident,
        [services.ClaimLineInput("XEM", Decimal("150"), "a deposit is missing")],
    )
    reviewer, approver = user_with_role(Role.REVIEWER), user_with_role(Role.APPROVER)

    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    browser_login(page, reviewer.username, PASSWORD)
    page.goto("/staff/claims/?disputed=true")
    page.click(f"text={claim.ref}")
    page.fill("[data-testid=approved-XEM]", "120")
    page.fill("[data-testid=reason]", "Only 20 XEM of the deposit arrived before the base time.")
    page.click("button[value=adjust]")
    assert "Decision recorded" in page.content()
    page.click("button[value=recommend]")
    assert page.locator("[data-testid=claim-status]").inner_text() == "Recommended for approval"
    assert page.locator("[data-testid=approve]").count() == 0  # a reviewer has no approve button
    screenshot(page, tmp_path / "recommended.png")
    context.close()

    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    browser_login(page, approver.username, PASSWORD)  # enrols TOTP on the way
    page.goto(f"/staff/claims/{claim.ref}/")
    page.click("[data-testid=approve]")
    summary = page.locator("[data-testid=confirm-summary]").inner_text()  # asks first, saying what will happen
    assert claim.ref in summary and "¥10,625" in summary and "approval 1 of 1" in summary
    screenshot(page, tmp_path / "confirm-approval.png")
    assert Claim.objects.get(pk=claim.pk).status == "recommended"
    page.click("[data-testid=confirm-yes]")
    assert page.locator("[data-testid=claim-status]").inner_text() == "Approved"
    assert page.locator("[data-testid=allowed-actions]").count() == 0  # nothing left to decide
    screenshot(page, tmp_path / "approved.png")
    context.close()

    claim.refresh_from_db()
    assert claim.status == "approved" and claim.approved_amount_jpy == 10_625  # 120 x 88.549 = 10,625.88


def test_an_approver_who_recommended_is_told_someone_else_must_approve(page, tmp_path):
    incident = incident_with_snapshot(ROWS)
    claim = claim_file(Customer.objects.get(account_id="ACC-2"), incident)
    approver = user_with_role(Role.APPROVER)

    browser_login(page, approver.username, PASSWORD)
    page.goto(f"/staff/claims/{claim.ref}/")
    page.click("button[value=recommend]")
    assert page.locator("[data-testid=approve]").count() == 0
    assert "another approver must approve it" in page.content()
    assert Claim.objects.get(pk=claim.pk).status == "recommended"


def test_maker_builds_a_batch_and_a_checker_approves_it(browser, live_server, tmp_path):
    incident = incident_with_snapshot(ROWS)
    for account_id in ("ACC-1", "ACC-2", "ACC-3"):
        claim_file(Customer.objects.get(account_id=account_id), incident)
    maker, checker = user_with_role(Role.APPROVER), user_with_role(Role.APPROVER)

    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    browser_login(page, maker.username, PASSWORD)
    page.goto("/staff/claims/batches/")
    page.select_option("select[name=incident]", incident.code)
    page.click("text=Build batch (maker)")
    batch = ClaimBatch.objects.get()
    assert batch.claim_count == 3
    assert page.locator(f"[data-testid=approve-batch-{batch.pk}]").count() == 0  # the maker cannot approve
    context.close()

    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    browser_login(page, checker.username, PASSWORD)
    page.goto("/staff/claims/batches/")
    page.click(f"[data-testid=approve-batch-{batch.pk}]")
    page.click("[data-testid=confirm-cancel]")  # cancelling changes nothing
    assert ClaimBatch.objects.get().status == "proposed"
    page.click(f"[data-testid=approve-batch-{batch.pk}]")
    assert "3" in page.locator("[data-testid=confirm-summary]").inner_text()
    page.click("[data-testid=confirm-yes]")
    assert "Batch" in page.content() and "approved" in page.content()
    screenshot(page, tmp_path / "batch-approved.png")
    context.close()

    assert set(Claim.objects.values_list("status", flat=True)) == {"approved"}
