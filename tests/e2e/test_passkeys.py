"""Passkeys in a real browser (Chromium's virtual authenticator): a customer enrols one, and a change of payout
details then needs it, used within the last minutes, besides the password."""

import pytest

from claims.models import Customer, PayoutChoice
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD, claim_file, customer_user, incident_with_snapshot
from tests.support.login import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def virtual_authenticator(page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


def change_account(page, number: str) -> None:
    page.locator("details:has(form[action$='/payout/']) summary").click()
    form = page.locator("form[action$='/payout/']")
    form.locator("input[value=bank]").check()
    for name, value in {
        "bank_code": "0005",
        "branch_code": "001",
        "account_number": number,
        "holder_name": "サトウ ハルト",
        "password": PASSWORD,
    }.items():
        form.locator(f"input[name={name}]").fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")


def test_a_customer_enrols_a_passkey_and_changes_need_it(page, live_server, settings, tmp_path):
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    incident = incident_with_snapshot()
    customer = Customer.objects.get(account_id="ACC-1")
    user = customer_user(customer)
    claim = claim_file(customer, incident)
    virtual_authenticator(page)

    browser_login(page, user.username, PASSWORD)
    page.goto("/account/security/")
    page.click("#passkey-register-button")
    page.wait_for_selector("#passkey-register-status-message:not(:empty)")
    from django_otp_webauthn.models import WebAuthnCredential

    assert WebAuthnCredential.objects.filter(user=user, confirmed=True).count() == 1
    screenshot(page, tmp_path / "security.png")

    # The password alone no longer changes where the money goes.
    page.goto(f"/claims/{claim.ref}/")
    change_account(page, "7654321")
    assert PayoutChoice.objects.get(claim=claim).account_number == "1234567"

    # Confirmed with the passkey (back on the claim page), the same change goes through.
    page.click("#passkey-verification-button")
    page.wait_for_selector("[data-testid=passkey-verified]")
    change_account(page, "7654321")
    choice = PayoutChoice.objects.get(claim=claim)
    assert choice.account_number == "7654321" and choice.effective_at is not None
    screenshot(page, tmp_path / "changed.png")
