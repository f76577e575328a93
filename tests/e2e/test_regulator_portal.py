"""A regulator in a real browser: the landing page with its chart, the audit browser, a receipt check."""

import datetime as dt
import json

import pytest
from django.db import transaction

from audit import tlog
from audit.checkpoints import checkpoint_create, cosignatures_add, witness_add
from audit.models import Event
from audit.receipts import receipt_bundle, receipt_issue
from audit.services import Actor, EventInput, events_record
from core.roles import Role
from tests.support.browser import screenshot
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
    assert page.locator("[data-testid=tree-size]").inner_text().strip().replace(",", "").isdigit()
    screenshot(page, tmp_path / "regulator-home.png")

    page.click("text=Audit trail")
    page.fill("input[name=action]", "claim.*")
    page.click("button:has-text('Search')")
    assert "12 events" in page.locator("[data-testid=result-count]").inner_text()
    assert page.locator("[data-testid=events] tbody tr").count() == 12
    # The table fits the screen; a row's data opens in full, its request id on one line.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1
    first = page.locator("[data-testid=events] tbody tr").first
    first.locator("details summary").click()
    assert '"n":' in first.locator("details pre").inner_text()
    request_id = first.locator(".request-id code")
    if request_id.count():
        box = request_id.bounding_box()
        assert box is not None and box["height"] < 30  # not wrapped a character per line
    screenshot(page, tmp_path / "audit-browser.png")
    with page.expect_download() as download:
        page.click("[data-testid=export-csv]")
    assert download.value.suggested_filename == "audit-events.csv"
    assert Event.objects.filter(action="regulator.viewed", actor=regulator.username).count() >= 3


def test_anyone_checks_a_receipt_in_their_own_browser_step_by_step(page, tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    witness_key = Ed25519PrivateKey.generate()
    witness = tlog.Verifier("fsa.example/witness", tlog.SIG_COSIGNATURE_V1, witness_key.public_key())
    witness_add(actor=Actor.system("tests"), vkey=witness.vkey())
    with transaction.atomic():
        receipt = receipt_issue(
            actor=Actor.system("tests"),
            subject=("reserves.payout", 1),
            payload={"claim_ref": "CLM-9", "amount_jpy": 8_854_900, "paid_at": dt.date(2026, 5, 1)},
        )
    checkpoint = checkpoint_create()
    text = tlog.note_parse(checkpoint.note).text
    cosignatures_add(note=checkpoint.note + tlog.cosign(text, witness.name, witness_key, 1_796_000_000).line())
    bundle = json.dumps(receipt_bundle(receipt), ensure_ascii=False)

    page.goto("/verify/")
    page.fill("[data-testid=document-text]", bundle)
    page.click("[data-testid=verify-browser]")
    result = page.locator("[data-testid=browser-result][data-ok]")
    result.wait_for()
    assert result.get_attribute("data-ok") == "true", page.locator("[data-testid=steps]").inner_text()
    steps = page.locator("[data-testid=steps] li")
    assert steps.count() == 6
    assert [steps.nth(i).get_attribute("data-ok") for i in range(6)] == ["true"] * 6
    assert "fsa.example/witness" in page.locator("[data-step=witnesses]").inner_text()
    screenshot(page, tmp_path / "receipt-checked-in-browser.png")

    page.fill("[data-testid=document-text]", bundle.replace("8854900", "9854900"))
    page.click("[data-testid=verify-browser]")
    page.locator("[data-testid=browser-result][data-ok=false]").wait_for()
    assert page.locator("[data-step=signature]").get_attribute("data-ok") == "false"
    assert page.locator("[data-step=checkpoint]").get_attribute("data-ok") == "skipped"

    page.goto("/verify/")  # the server's own check stays, for browsers without JavaScript
    page.click("text=Or ask this server to check it")
    page.fill("textarea[name=receipt]", bundle)
    page.click("button:has-text('Verify')")
    assert "Genuine" in page.locator("[data-testid=verify-result]").inner_text()
    assert "CLM-9" in page.locator("[data-testid=receipt]").inner_text()
