"""`make run`'s demo data loads on a fresh database, twice, and leaves a consistent system."""

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from audit.log.verify import log_verify
from claims import services
from claims.models import Claim, Customer, Incident, PayoutChoice
from claims.selectors.regulator import incident_summary
from core.roles import Role, role_of
from demo.claims import BATCH_READY
from reserves.selectors import ledger_reconcile, reserve_history
from reserves.selectors.receipts import payouts_without_receipt
from tests.support.login import otp_verified
from tests.support.money import paid_by_claim

pytestmark = pytest.mark.django_db(transaction=True)  # tasks run in-process after each commit


def test_demo_load_gives_every_role_a_login_and_pays_four_claims(settings):
    settings.DEBUG = True
    out = io.StringIO()
    for _ in range(2):
        call_command("demo_load", stdout=out)

    users = get_user_model().objects
    assert {role_of(u) for u in users.all()} == {r.value for r in Role}
    assert "demo-regulator-pass" in out.getvalue()
    assert Incident.objects.get().status == "open"
    statuses = dict(Claim.objects.values_list("customer__account_id", "status"))
    assert statuses["ACC-00002"] == "info_requested" and statuses["ACC-00003"] == "recommended"
    paid = Claim.objects.filter(status="paid")
    assert paid.count() == 4
    assert paid_by_claim() == dict(paid.values_list("ref", "approved_amount_jpy"))
    assert not payouts_without_receipt().exists()  # each paid payout has its signed receipt to download
    assert ledger_reconcile().ok
    assert log_verify().ok
    summary = incident_summary(code=Incident.objects.get().code)  # the regulator portal has something to show
    assert summary.claims_by_status["paid"] == 4
    assert summary.paid_jpy == sum(paid.values_list("approved_amount_jpy", flat=True))
    assert summary.days_to_first_payout is not None
    from audit.liabilities import liabilities_latest

    assert liabilities_latest(incident_code=summary.incident.code).total_jpy == summary.eligible_loss_jpy


def test_the_demo_demonstrates_batch_fresh_claim_own_accounts_funded_reserve(settings, mailoutbox):
    settings.DEBUG = True
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8181"
    out = io.StringIO()
    call_command("demo_load", "--url", "http://127.0.0.1:8181", stdout=out)

    # The logins and the URL with the real port come last, framed.
    tail = out.getvalue().strip().splitlines()
    assert tail[0].startswith("+") and "Demo ready" in tail[0] and tail[-1].startswith("+--")
    assert "http://127.0.0.1:8181/login/" in tail[1]
    assert "emma@example.com" in out.getvalue() and len(tail) < 40
    # Invitation links use that host and port.
    links = [m.body for m in mailoutbox if "/activate/" in m.body]
    assert links and all("http://127.0.0.1:8181/activate/" in body for body in links)

    # No bank payout goes to an account held in another customer's name.
    bank = PayoutChoice.objects.filter(method="bank").select_related("claim__customer")
    assert bank.exists()
    for choice in bank:
        assert choice.name_check == "match", choice.claim.customer.account_id

    # A bulk batch can take the small claims that match the snapshot.
    incident = Incident.objects.get()
    users = get_user_model().objects
    batch = services.claim_batch_create(
        actor=users.get(username="reviewer"), incident=incident, amount_ceiling_jpy=None, reason="demo"
    )
    assert batch.claim_count == len(BATCH_READY)
    services.claim_batch_approve(actor=otp_verified(users.get(username="approver")), batch=batch)

    # The English customer has a login, no claim yet, and can file one.
    emma = Customer.objects.get(account_id="ACC-00021")
    assert emma.language == "en" and emma.user.username == "emma@example.com"
    assert not Claim.objects.filter(customer=emma).exists()
    filed = services.claim_file(
        customer=emma, incident=incident, lines=None, payout=services.PayoutInput(method=""), idempotency_key="t"
    )
    assert filed.claim.status == "submitted"

    # The reserve is funded from the start of its history: never a day below its minimum.
    assert all(
        not point.below_minimum
        for point in reserve_history(since=timezone.localdate() - dt.timedelta(days=90), until=timezone.localdate())
    )


def test_demo_load_refuses_without_debug(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo_load", stdout=io.StringIO())
