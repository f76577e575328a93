"""A regulator in a real browser: the landing page with its chart, the audit browser, a receipt check."""

import datetime as dt
import json

import pytest
from django.db import transaction

from audit.models import Event
from audit.services import Actor, EventInput, checkpoint_create, events_record, receipt_issue
from core.roles import Role
from tests.support.factories import PASSWORD, user_with_role
from tests.support.login import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _trail_over_days() -> None:
    """Events spread over the last week (created_at moved back before the chain is checked)."""
    with transaction.atomic():
        events_record(
            actor=Actor("approver", "approver", 1),
            events=[EventInput("claim.approved", "claims.claim", f"C-{i}", {"n": i}) for i in range(12)],
        )


def test_regulator_sees_integrity_and_events_per_day_then_searches(page, tmp_path):
    _trail_over_days()
    checkpoint_create()
    regulator = user_with_role(Role.REGULATOR)

    browser_login(page, regulator.username, PASSWORD)
    page.goto("/regulator/")

    chart = page.locator("[data-testid=events-chart] svg.chart")
    assert chart.is_visible()
    assert chart.locator("rect.bar").count() == 30
    today = chart.locator("rect.bar").last
    assert int(today.get_attribute("data-value")) >= 12
    box = today.bounding_box()
    assert box is not None and box["height"] > 50  # drawn, not a zero-height mark
    assert "#" in page.locator("[data-testid=head-seq]").inner_text()
    page.screenshot(path=str(tmp_path / "regulator-home.png"), full_page=True)

    page.click("text=Audit trail")
    page.fill("input[name=action]", "claim.*")
    page.click("button:has-text('Search')")
    assert "12 events" in page.locator("[data-testid=result-count]").inner_text()
    assert page.locator("[data-testid=events] tbody tr").count() == 12
    page.screenshot(path=str(tmp_path / "audit-browser.png"), full_page=True)
    with page.expect_download() as download:
        page.click("[data-testid=export-csv]")
    assert download.value.suggested_filename == "audit-events.csv"
    assert Event.objects.filter(action="regulator.viewed", actor=regulator.username).count() >= 3


def test_anyone_checks_a_receipt_by_pasting_it(page, tmp_path):
    with transaction.atomic():
        receipt = receipt_issue(
            actor=Actor.system("tests"),
            subject=("reserves.payout", 1),
            payload={"claim_ref": "CLM-9", "amount_jpy": 8_854_900, "paid_at": dt.date(2026, 5, 1)},
        )

    page.goto("/verify/")
    page.fill("textarea[name=receipt]", json.dumps(receipt.document))
    page.click("button:has-text('Verify')")
    assert "Genuine" in page.locator("[data-testid=verify-result]").inner_text()
    assert "CLM-9" in page.locator("[data-testid=receipt]").inner_text()
    page.screenshot(path=str(tmp_path / "receipt-genuine.png"), full_page=True)

    page.goto("/verify/")
    page.fill("textarea[name=receipt]", json.dumps(receipt.document).replace("8854900", "9854900"))
    page.click("button:has-text('Verify')")
    assert "NOT valid" in page.locator("[data-testid=verify-result]").inner_text()
