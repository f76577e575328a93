"""In a real browser: a partly paid claim tells its customer what came and what is still to come; an insurer's
recovery is recorded in order, with evidence, on the funding panel, and funds in hand is what is left."""

import pytest

from claims import services
from claims.models import Claim, Customer
from core.roles import Role
from reserves.models import RecoveryClaim
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD, claim_file, customer_user, incident_with_snapshot, user_with_role
from tests.support.login import browser_login, staff
from tests.support.money import fund_open, policy, register, reserve_fund

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_customer_sees_a_partly_paid_claim_with_paid_so_far_and_outstanding(page, tmp_path):
    reserve_fund(1_919_296)  # half of Sato's ¥3,838,593
    incident = incident_with_snapshot()
    sato = Customer.objects.get(account_id="ACC-1")
    claim = claim_file(sato, incident)
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    services.claim_approve(actor=staff(Role.APPROVER), claim=claim)  # tasks run in-process after the commit
    assert Claim.objects.get(pk=claim.pk).status == "partly_paid"
    user = customer_user(sato)

    browser_login(page, user.username, PASSWORD)
    assert "¥1,919,296" in page.locator("[data-testid=my-claims]").inner_text()
    page.goto(f"/claims/{claim.ref}/")
    assert page.locator("[data-testid=claim-status]").inner_text() == "Partly paid"
    assert page.locator("[data-testid=claim-paid]").inner_text() == "¥1,919,296 (49.99%)"  # truncated: never overstated
    assert page.locator("[data-testid=claim-outstanding]").inner_text().startswith("¥1,919,297")
    assert "received so far" in page.locator("[data-testid=timeline]").inner_text()
    screenshot(page, tmp_path / "partly-paid.png")


def test_staff_record_notice_proof_and_settlement_in_order(page, tmp_path, django_capture_on_commit_callbacks):
    reserve_fund(100)
    policy("E2E-POL", per_occurrence_limit_jpy=900, aggregate_limit_jpy=900)
    fund = fund_open("e2e-ins")
    with django_capture_on_commit_callbacks(execute=True):
        register(fund, {"E2E-A": 1_000})

    browser_login(page, user_with_role(Role.APPROVER).username, PASSWORD)
    page.goto("/staff/funds/e2e-ins/")
    row = page.locator("[data-testid=recoveries] tbody tr")
    assert "after the notice and the proof of loss" in row.inner_text()
    assert row.locator("button:has-text('Insurer paid')").count() == 0  # no money before notice and proof
    row.locator("input[name=evidence]").fill("Letter TM-1")
    row.locator("button:has-text('Notice given')").click()
    row = page.locator("[data-testid=recoveries] tbody tr")
    assert "Letter TM-1" in row.inner_text()
    row.locator("input[name=evidence]").fill("Proof of loss, 12 pages")
    row.locator("button:has-text('Proof submitted')").click()
    row = page.locator("[data-testid=recoveries] tbody tr")
    row.locator("input[name=amount_jpy]").fill("900")
    row.locator("input[name=reference]").fill("REMIT-E2E")
    row.locator("button:has-text('Insurer paid')").click()

    assert RecoveryClaim.objects.get().status == "settled"
    assert page.locator("[data-testid=paid]").inner_text() == "¥1,000"
    assert page.locator("[data-testid=funds-in-hand]").inner_text() == "¥0"
    assert page.locator("[data-testid=received]").inner_text() == "¥1,000"
    screenshot(page, tmp_path / "recovery.png")
