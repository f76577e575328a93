"""Each role's path through the site in Chromium, in Japanese, with every page checked as people would meet it.

The customer on a phone (390 x 844): activates from the invitation, files, fixes bank details the bank returned,
reads the receipt and verifies it. Staff on a tablet: a reviewer recommends, another approver approves (through
the confirmation, when the page asks for one), an approver builds a batch and a second approves it. The
regulator on a tablet: the summary, the charts, the audit trail, a CSV export.

Every page visited is screenshotted under reports/e2e/<test>/ and checked (tests/support/browser.py): no
serious or critical axe-core violation; on the phone no sideways scrolling and tap targets of 44 px; no English
words on the Japanese pages.
"""

import re
from decimal import Decimal

import pytest
from django.core import mail

from claims import services
from claims.models import Claim, ClaimBatch, Customer, PayoutCorrection
from core.roles import Role
from reserves.models import Payout
from tests.support.browser import PHONE, TABLET, PageChecks, screenshot
from tests.support.factories import PASSWORD, claim_file, incident_with_snapshot, user_with_role
from tests.support.login import browser_login, staff
from tests.support.money import reserve_fund
from tests.support.returns import bank_answer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROWS = [
    ("ACC-1", "Sato Haruto", "sato@example.jp", "XEM", "1000.5"),
    ("ACC-1", "Sato Haruto", "sato@example.jp", "BTC", "0.25"),
    ("ACC-2", "Suzuki Yui", "suzuki@example.jp", "XEM", "20"),
    ("ACC-3", "Kato Ren", "kato@example.jp", "BTC", "0.5"),
]
PASSPHRASE = "a-long-unusual-passphrase"


def _data(incident) -> list[str]:
    """What the pages show as data, not interface: the incident's own words and the people's names."""
    return [incident.title, incident.description, *(row[1] for row in ROWS)]


def _context(browser, live_server, viewport):
    return browser.new_context(base_url=live_server.url, locale="ja-JP", viewport=viewport)


def _confirm_if_asked(page) -> None:
    """Irreversible actions may ask first on a confirmation page: say yes."""
    page.wait_for_load_state("load")
    if page.locator("[data-testid=confirm-yes]").count():
        page.click("[data-testid=confirm-yes]")
        page.wait_for_load_state("load")


def _log_out(page) -> None:
    page.click("header form[action*=logout] button")
    page.wait_for_load_state("load")


def test_a_customer_on_a_phone_activates_files_fixes_bank_details_and_verifies_the_receipt(
    browser, live_server, settings, payout_settings, request
):
    settings.PAYOUT_BANK_RAIL = "zengin"
    reserve_fund(10_000_000_000)
    incident = incident_with_snapshot(ROWS)
    checks = PageChecks(request.node.name, data=_data(incident))
    context = _context(browser, live_server, PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)

    invitation = next(m for m in mail.outbox if m.to == ["sato@example.jp"])
    page.goto(re.search(r"https?://[^/]+(/activate/\S+/)", invitation.body).group(1))
    checks.visit(page, "activate", phone=True)
    page.fill("input[name=password1]", PASSPHRASE)
    page.fill("input[name=password2]", PASSPHRASE)
    page.click("button[type=submit].primary")
    checks.visit(page, "activated", phone=True)
    _log_out(page)

    page.goto("/login/")
    checks.visit(page, "login", phone=True)
    browser_login(page, "sato@example.jp", PASSPHRASE)
    checks.visit(page, "my-claims", phone=True)
    page.click(f"a[href='/claims/incidents/{incident.code}/']")
    checks.visit(page, "incident", phone=True)
    for name, value in {"bank_code": "0001", "branch_code": "001", "account_number": "1234567"}.items():
        page.fill(f"input[name={name}]", value)
    page.fill("input[name=holder_name]", "サトウ ハルト")
    page.click("[data-testid=submit-claim]")
    claim = Claim.objects.get(customer__account_id="ACC-1")
    assert page.locator("[data-testid=claim-ref]").inner_text() == claim.ref
    assert page.locator("[data-testid=claim-status]").inner_text() == "受付済み"
    checks.visit(page, "filed", phone=True)

    # Staff decide; the bank sends the transfer back: the account is closed.
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
    assert Payout.objects.get().status == "submitted"
    bank_answer(settings, "returned", "02")

    page.goto(f"/claims/{claim.ref}/")
    returned = page.locator("[data-testid=payout-returned]")
    returned.wait_for()
    checks.visit(page, "returned", phone=True)
    returned.locator("input[value=bank]").check()
    for name, value in {
        "bank_code": "0005",
        "branch_code": "001",
        "account_number": "7654321",
        "holder_name": "サトウ ハルト",
        "password": PASSPHRASE,
    }.items():
        returned.locator(f"input[name=fix-{name}]").fill(value)
    returned.locator("button[type=submit]").click()
    page.wait_for_load_state("load")
    correction = PayoutCorrection.objects.get()
    assert correction.status == "pending_review"
    checks.visit(page, "correction-sent", phone=True)

    # A reviewer accepts the new details; once the cooling-off is over the payment goes out again and is paid.
    from django.utils import timezone

    from claims.services.corrections import payout_correction_review, payout_corrections_apply

    payout_correction_review(actor=staff(Role.REVIEWER), correction=correction, accept=True, reason="")
    assert payout_corrections_apply(now=timezone.now() + timezone.timedelta(days=30)) == 1
    bank_answer(settings, "paid")
    assert Claim.objects.get(pk=claim.pk).status == "paid"

    page.goto(f"/claims/{claim.ref}/")
    page.locator("[data-testid=receipts]").wait_for()
    checks.visit(page, "paid", phone=True)
    page.click("[data-testid=receipt-page]")
    assert claim.ref in page.locator("[data-testid=receipt]").inner_text()
    checks.visit(page, "receipt", phone=True)
    with page.expect_download() as download:
        page.click("[data-testid=receipt-download]")
    saved = checks.folder / "receipt.json"
    download.value.save_as(str(saved))

    page.goto("/verify/")
    checks.visit(page, "verify", phone=True)
    page.set_input_files("#document-file", str(saved))
    page.click("[data-testid=verify-browser]")
    page.locator("[data-testid=browser-result][data-ok]").wait_for()
    assert page.locator("[data-testid=browser-result]").get_attribute("data-ok") == "true"
    checks.visit(page, "verified", phone=True)
    page.goto("/account/security/")
    checks.visit(page, "security", phone=True)
    _log_out(page)
    page.goto("/password-reset/")
    checks.visit(page, "password-reset", phone=True)
    context.close()
    checks.assert_clean()


def test_staff_on_a_tablet_review_recommend_approve_and_batch(browser, live_server, request):
    reserve_fund(10_000_000_000)
    incident = incident_with_snapshot(ROWS)
    disputed = claim_file(
        Customer.objects.get(account_id="ACC-3"),
        incident,
        [services.ClaimLineInput("BTC", Decimal("0.6"), "入金 0.1 BTC が反映されていません")],
    )
    for account_id in ("ACC-1", "ACC-2"):
        claim_file(Customer.objects.get(account_id=account_id), incident)
    reviewer = user_with_role(Role.REVIEWER)
    approver, second = user_with_role(Role.APPROVER), user_with_role(Role.APPROVER)
    checks = PageChecks(request.node.name, data=[*_data(incident), "入金 0.1 BTC が反映されていません"])

    context = _context(browser, live_server, TABLET)
    page = context.new_page()
    browser_login(page, reviewer.username, PASSWORD)
    page.goto("/staff/claims/")
    checks.visit(page, "queue", phone=True, tap_targets=False)
    page.click(f"a:has-text('{disputed.ref}')")
    checks.visit(page, "claim", phone=True, tap_targets=False)
    page.fill("[data-testid=approved-BTC]", "0.55")
    page.fill("[data-testid=reason]", "基準時刻より後の入金です。")
    page.click("button[value=adjust]")
    page.click("button[value=recommend]")
    assert Claim.objects.get(pk=disputed.pk).status == "recommended"
    checks.visit(page, "recommended", phone=True, tap_targets=False)
    context.close()

    context = _context(browser, live_server, TABLET)
    page = context.new_page()
    browser_login(page, approver.username, PASSWORD)
    page.goto(f"/staff/claims/{disputed.ref}/")
    page.click("[data-testid=approve]")
    if page.locator("[data-testid=confirm]").count():
        checks.visit(page, "confirm-approval", phone=True, tap_targets=False)
    _confirm_if_asked(page)
    assert Claim.objects.get(pk=disputed.pk).status in ("approved", "partly_paid", "paid")
    checks.visit(page, "approved", phone=True, tap_targets=False)

    page.goto("/staff/claims/batches/")
    checks.visit(page, "batches", phone=True, tap_targets=False)
    page.select_option("select[name=incident]", incident.code)
    page.click("[data-testid=batch-form] button[type=submit]")
    page.wait_for_load_state("load")
    batch = ClaimBatch.objects.get()
    assert batch.claim_count == 2
    checks.visit(page, "batch-built", phone=True, tap_targets=False)
    context.close()

    context = _context(browser, live_server, TABLET)
    page = context.new_page()
    browser_login(page, second.username, PASSWORD)
    page.goto("/staff/claims/batches/")
    page.click(f"[data-testid=approve-batch-{batch.pk}]")
    if page.locator("[data-testid=confirm]").count():
        checks.visit(page, "confirm-batch", phone=True, tap_targets=False)
    _confirm_if_asked(page)
    assert set(Claim.objects.filter(batch=batch).values_list("status", flat=True)) <= {
        "approved",
        "partly_paid",
        "paid",
    }
    checks.visit(page, "batch-approved", phone=True, tap_targets=False)
    page.goto("/staff/reserve/")
    checks.visit(page, "reserve", phone=True, tap_targets=False)
    page.goto(f"/staff/funds/{incident.code}/")
    checks.visit(page, "fund", phone=True, tap_targets=False)
    page.goto("/staff/payouts/")
    checks.visit(page, "payouts", phone=True, tap_targets=False)
    context.close()
    checks.assert_clean()


def test_the_regulator_on_a_tablet_reads_the_summary_charts_and_trail_and_exports_csv(browser, live_server, request):
    reserve_fund(10_000_000_000)
    incident = incident_with_snapshot(ROWS)
    claim = claim_file(Customer.objects.get(account_id="ACC-2"), incident)
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
    regulator = user_with_role(Role.REGULATOR)
    checks = PageChecks(request.node.name, data=_data(incident))

    context = _context(browser, live_server, TABLET)
    page = context.new_page()
    browser_login(page, regulator.username, PASSWORD)
    page.goto("/regulator/")
    checks.visit(page, "summary", phone=True, tap_targets=False)
    page.goto("/regulator/reserve/")
    assert page.locator("svg").count() >= 1  # the reserve's chart
    checks.visit(page, "reserve-charts", phone=True, tap_targets=False)
    page.goto("/regulator/payouts/")
    checks.visit(page, "payouts", phone=True, tap_targets=False)
    page.goto("/regulator/incidents/")
    checks.visit(page, "incidents", phone=True, tap_targets=False)
    page.goto(f"/regulator/incidents/{incident.code}/")
    checks.visit(page, "incident", phone=True, tap_targets=False)
    page.goto("/regulator/audit/")
    checks.visit(page, "audit-trail", phone=True, tap_targets=False)
    page.goto(f"/regulator/incidents/{incident.code}/claims/")
    checks.visit(page, "claims", phone=True, tap_targets=False)
    with page.expect_download() as download:
        page.click("a:text-is('CSV')")
    saved = checks.folder / "claims.csv"
    download.value.save_as(str(saved))
    header = saved.read_text(encoding="utf-8-sig").splitlines()[0]
    assert claim.ref in saved.read_text(encoding="utf-8-sig")
    assert header.startswith("請求番号,口座,ステータス,請求額,承認金額")  # the header row in the reader's language
    screenshot(page, checks.folder / "after-export.png")
    context.close()
    checks.assert_clean()
