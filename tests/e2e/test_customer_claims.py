"""Customers in a real browser: activate, log in, file by accepting the snapshot, dispute with a PDF, privacy."""

import re

import pytest
from django.core import mail

from claims.models import Claim, Customer, Evidence
from tests.support.browser import screenshot
from tests.support.factories import BANK_PAYOUT, PASSWORD, PDF_BYTES, claim_file, customer_user, incident_with_snapshot
from tests.support.login import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROWS = [
    ("ACC-1", "Sato Haruto", "sato@example.jp", "XEM", "1000.5"),
    ("ACC-1", "Sato Haruto", "sato@example.jp", "BTC", "0.25"),
    ("ACC-2", "Suzuki Yui", "suzuki@example.jp", "XEM", "20"),
    ("ACC-3", "Kato Ren", "kato@example.jp", "BTC", "1"),
]


def _fill_bank(page) -> None:
    for name in ("bank_code", "branch_code", "account_number", "holder_name"):
        page.fill(f"input[name={name}]", BANK_PAYOUT[name])


def test_customer_activates_logs_in_accepts_the_snapshot_and_sees_the_claim(page, tmp_path):
    incident = incident_with_snapshot(ROWS)  # opening it emails the invitations (after commit)
    invitation = next(m for m in mail.outbox if m.to == ["sato@example.jp"])
    path = re.search(r"https?://[^/]+(/activate/\S+/)", invitation.body).group(1)

    page.goto(path)
    page.fill("input[name=password1]", "a-long-unusual-passphrase")
    page.fill("input[name=password2]", "a-long-unusual-passphrase")
    page.click("button[type=submit].primary")
    screenshot(page, tmp_path / "activated.png", full_page=False)
    page.click("header button:has-text('Log out')")

    browser_login(page, "sato@example.jp", "a-long-unusual-passphrase")
    assert page.url.endswith("/claims/")
    page.click(f"a[href='/claims/incidents/{incident.code}/']")
    assert "¥3,838,593" in page.locator("[data-testid=holdings-total]").inner_text()
    _fill_bank(page)
    screenshot(page, tmp_path / "filing.png")
    page.click("[data-testid=submit-claim]")

    claim = Claim.objects.get(customer__account_id="ACC-1")
    assert page.locator("[data-testid=claim-ref]").inner_text() == claim.ref
    assert page.locator("[data-testid=claim-status]").inner_text() == "Submitted"
    assert page.locator("[data-testid=payout-account]").inner_text() == "****567"
    assert "Submitted" in page.locator("[data-testid=timeline]").inner_text()
    screenshot(page, tmp_path / "claim.png")


def test_customer_disputes_a_line_with_a_pdf(page, tmp_path):
    incident = incident_with_snapshot(ROWS)
    user = customer_user(Customer.objects.get(account_id="ACC-2"))
    statement = tmp_path / "statement.pdf"
    statement.write_bytes(PDF_BYTES)

    browser_login(page, user.username, PASSWORD)
    page.goto(f"/claims/incidents/{incident.code}/")
    page.check("[data-testid=mode-dispute]")
    page.fill("input[name=qty_XEM]", "25")
    page.fill("input[name=reason_XEM]", "A deposit of 5 XEM at 09:58 is missing")
    page.set_input_files("[data-testid=files]", str(statement))
    _fill_bank(page)
    page.click("[data-testid=submit-claim]")

    claim = Claim.objects.get(customer__account_id="ACC-2")
    assert claim.disputed
    assert Evidence.objects.get(claim=claim).content_type == "application/pdf"
    lines = page.locator("[data-testid=claim-lines]").inner_text()
    assert "25" in lines and "A deposit of 5 XEM at 09:58 is missing" in lines
    assert "statement.pdf" in page.locator("[data-testid=evidence]").inner_text()
    screenshot(page, tmp_path / "disputed.png")


def test_a_customer_cannot_open_someone_elses_claim(page, tmp_path):
    incident = incident_with_snapshot(ROWS)
    theirs = claim_file(Customer.objects.get(account_id="ACC-1"), incident)
    intruder = customer_user(Customer.objects.get(account_id="ACC-3"))

    browser_login(page, intruder.username, PASSWORD)
    response = page.goto(f"/claims/{theirs.ref}/")

    assert response.status == 404
    assert theirs.ref not in page.locator("main").inner_text()
    screenshot(page, tmp_path / "not-found.png", full_page=False)


def test_a_paid_customer_prints_the_receipt_downloads_it_and_checks_it(page, tmp_path):
    import json
    from pathlib import Path

    from audit.receipts import receipt_verify
    from claims import services
    from core.roles import Role
    from tests.support.login import staff
    from tests.support.money import reserve_fund

    reserve_fund(10_000_000_000)
    incident = incident_with_snapshot(ROWS)
    user = customer_user(Customer.objects.get(account_id="ACC-1"))
    claim = claim_file(user.customer, incident)
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    services.claim_approve(actor=staff(Role.APPROVER), claim=claim)  # paid, then the receipt signed, in-process
    assert Claim.objects.get(pk=claim.pk).status == "paid"

    browser_login(page, user.username, PASSWORD)
    page.goto(f"/claims/{claim.ref}/")
    assert "¥3,838,593" in page.locator("[data-testid=receipts]").inner_text()
    page.click("[data-testid=receipt-page]")
    receipt = page.locator("[data-testid=receipt]").inner_text()
    assert claim.ref in receipt and "¥3,838,593" in receipt and "****567" in receipt
    assert "Claim reference" in receipt and "liability reserve" in receipt and "JST" in receipt
    assert "Included in the signed audit log" in page.locator("[data-testid=receipt-proof]").inner_text()
    assert page.locator("[data-testid=receipt-qr] svg").is_visible()
    screenshot(page, tmp_path / "receipt-printable.png")
    with page.expect_download() as pdf:
        page.click("[data-testid=receipt-pdf]")
    assert pdf.value.suggested_filename.endswith(".pdf")
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF")

    with page.expect_download() as download:
        page.click("[data-testid=receipt-download]")
    saved = tmp_path / "receipt.json"
    download.value.save_as(str(saved))
    document = json.loads(saved.read_text(encoding="utf-8"))
    assert document["payload"]["claim_ref"] == claim.ref
    assert receipt_verify(document).ok

    assert document["proof"]["tree_size"] >= document["audit_seq"]  # it carries its inclusion proof

    page.goto("/verify/")  # the customer's own browser checks it, step by step
    page.set_input_files("#document-file", str(saved))
    page.click("[data-testid=verify-browser]")
    page.locator("[data-testid=browser-result][data-ok]").wait_for()
    assert page.locator("[data-testid=browser-result]").get_attribute("data-ok") == "true"
    assert page.locator("[data-testid=steps] li[data-ok=true]").count() == 6
    screenshot(page, tmp_path / "receipt-verified.png")
