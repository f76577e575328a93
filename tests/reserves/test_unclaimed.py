"""Unclaimed money: returned or undeliverable payouts past the deadline are held apart for deposit (供託),
listed for staff and the regulator, and stay payable once (issue 13, item 7)."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from claims import regulator
from config.roles import Role
from reserves.models import Account, Payout, Transfer
from reserves.returns import Return, payout_resend, payouts_mark_returned
from reserves.tasks import unclaimed_sweep
from reserves.unclaimed import unclaimed_sweep as sweep
from tests.books import books_are_right
from tests.factories import incident_declare, login_verified, staff
from tests.reserves.builders import CHECKER, bank_payee, fund_open, register, reserve_fund

pytestmark = pytest.mark.django_db(transaction=True)


def test_returned_money_past_the_deadline_is_held_for_deposit_and_stays_payable(
    settings, celery_worker, django_capture_on_commit_callbacks
):
    settings.UNCLAIMED_AFTER_DAYS = 30
    reserve_fund(10_000_000)
    incident = incident_declare()
    fund = fund_open(incident.code)
    register(fund, {"U-1": 70_000, "U-2": 30_000}, payee=bank_payee(account_number="9999999"))  # a closed account
    from tests.reserves.test_reliability import wait_until

    wait_until(lambda: Payout.objects.filter(status="failed").count() == 2, timeout=60, what="undeliverable payouts")
    u1, u2 = Payout.objects.get(claim_ref="U-1"), Payout.objects.get(claim_ref="U-2")
    from django.db import transaction

    with transaction.atomic():
        p = Payout.objects.select_for_update().get(pk=u1.pk)
        # A failed payout is undeliverable; mark U-1 as came back from the bank instead, to cover both paths.
        Payout.objects.filter(pk=p.pk).update(status="submitted")
        p.status = "submitted"
        payouts_mark_returned(actor=CHECKER, returns=[Return(p, "02", "The account is closed")])
    books_are_right()

    assert unclaimed_sweep.delay().get(timeout=30) == {"unclaimed": 0}  # not yet past the deadline
    later = timezone.now() + dt.timedelta(days=31)
    assert sweep(now=later) == 2
    assert sweep(now=later) == 0
    account = Account.objects.get(code=f"unclaimed:{incident.code}")
    assert account.kind == "unclaimed" and account.balance_jpy == 100_000
    assert set(Payout.objects.values_list("status", flat=True)) == {"unclaimed"}
    books_are_right()

    summary = regulator.incident_summary(code=incident.code)
    assert (summary.unclaimed_count, summary.unclaimed_jpy) == (2, 100_000)
    client = Client()
    login_verified(client, staff(Role.REVIEWER))
    page = client.get("/staff/rails/unclaimed/").content.decode()
    assert "U-1" in page and "U-2" in page

    # The customer comes back with another account: paid once, from the unclaimed account.
    resend = payout_resend(actor=CHECKER, payout_id=u2.pk, payee=bank_payee(account_number="7654321"))
    wait_until(lambda: Payout.objects.get(pk=resend.pk).status == "paid", timeout=60)
    assert Transfer.objects.get(idempotency_key=f"reclaim:{u2.pk}").amount_jpy == 30_000
    account.refresh_from_db()
    assert account.balance_jpy == 70_000
    from config.errors import Conflict

    with pytest.raises(Conflict):
        payout_resend(actor=CHECKER, payout_id=u2.pk, payee=bank_payee(account_number="7654321"))
    books_are_right()
    assert regulator.incident_summary(code=incident.code).unclaimed_jpy == 70_000
