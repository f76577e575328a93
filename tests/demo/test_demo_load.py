"""`make run`'s demo data loads on a fresh database, twice, and leaves a consistent system."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from audit.log.verify import log_verify
from claims.models import Claim, Incident
from claims.selectors.regulator import incident_summary
from core.roles import Role, role_of
from reserves.selectors import ledger_reconcile
from reserves.selectors.receipts import payouts_without_receipt
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


def test_demo_load_refuses_without_debug(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo_load", stdout=io.StringIO())
