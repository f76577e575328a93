"""Payment states that tell the truth: partly paid, paid in full, closed with nothing due; paid so far everywhere."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import Event
from claims import services
from claims.models import Claim, Customer
from claims.services.holdbacks import appeal_windows_close
from core.roles import Role
from reserves import services as reserve_services
from reserves.models import Entitlement, Holdback, IncidentFund, Payout
from reserves.selectors import allocation_replay, ledger_reconcile
from reserves.services.returns import Return, payout_resend, payouts_mark_returned
from tests.support.factories import claim_file, customer_user, incident_with_snapshot
from tests.support.login import staff
from tests.support.money import CHECKER, bank_payee, reserve_fund

pytestmark = pytest.mark.django_db(transaction=True)  # tasks run in-process after each commit, as in production
SATO_JPY = 3_838_593  # 1000.5 XEM x ¥88.549 + 0.25 BTC x ¥15,000,000
SUZUKI_JPY = 1_770  # 20 XEM


def _approved(claim: Claim) -> Claim:
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    return services.claim_approve(actor=staff(Role.APPROVER), claim=claim)


@pytest.fixture
def both_filed():
    incident = incident_with_snapshot()
    fund = IncidentFund.objects.get(incident_code=incident.code)
    reserve_services.incident_fund_configure(actor=CHECKER, fund=fund, expected_loss_jpy=SATO_JPY + SUZUKI_JPY)
    sato = claim_file(Customer.objects.get(account_id="ACC-1"), incident)
    suzuki = claim_file(Customer.objects.get(account_id="ACC-2"), incident)
    return incident, sato, suzuki


def test_a_first_tranche_makes_a_claim_partly_paid_and_the_rest_makes_it_paid(both_filed, api_as):
    _incident, sato, suzuki = both_filed
    reserve_fund((SATO_JPY + SUZUKI_JPY) // 2)

    _approved(sato)
    _approved(suzuki)

    sato.refresh_from_db()
    assert (sato.status, sato.paid_jpy, sato.outstanding_jpy) == ("partly_paid", 1_919_296, 1_919_297)
    assert sato.paid_at is None and sato.get_status_display() == "一部支払済み"
    entry = sato.timeline.last()
    note = "これまでの受取額 ¥1,919,296（¥3,838,593 の 49.99%）"  # noqa: RUF001 - Japanese parentheses
    assert (entry.status, entry.text) == ("partly_paid", note)
    customer = api_as(customer_user(sato.customer)).get(f"/api/claims/{sato.ref}/").json()
    assert (customer["status"], customer["paid_jpy"], customer["outstanding_jpy"], customer["paid_rate"]) == (
        "partly_paid",
        1_919_296,
        1_919_297,
        "0.4999998697",
    )
    queue = api_as(staff(Role.REVIEWER)).get("/api/staff/claims/?status=partly_paid").json()["results"]
    assert sorted((row["ref"], row["paid_jpy"], row["outstanding_jpy"]) for row in queue) == sorted(
        [(sato.ref, 1_919_296, 1_919_297), (suzuki.ref, 884, 886)]
    )

    reserve_fund(SATO_JPY)  # more than enough: everyone is paid in full

    sato.refresh_from_db()
    assert (sato.status, sato.paid_jpy, sato.outstanding_jpy) == ("paid", SATO_JPY, 0)
    assert sato.paid_at is not None
    assert [e.status for e in sato.timeline.order_by("id")][-2:] == ["partly_paid", "paid"]
    assert ledger_reconcile().ok


def test_the_regulator_sees_paid_so_far_and_outstanding_per_claim_and_exports_them(both_filed, api_as, client):
    incident, sato, suzuki = both_filed
    reserve_fund((SATO_JPY + SUZUKI_JPY) // 2)
    _approved(sato)

    regulator = api_as(staff(Role.REGULATOR))
    rows = regulator.get(f"/api/regulator/incidents/{incident.code}/claims/").json()["results"]
    assert [(r["ref"], r["status"], r["paid_jpy"], r["outstanding_jpy"]) for r in rows] == [
        (
            sato.ref,
            "partly_paid",
            Claim.objects.get(pk=sato.pk).paid_jpy,
            Claim.objects.get(pk=sato.pk).outstanding_jpy,
        ),
        (suzuki.ref, "submitted", 0, 0),
    ]
    assert rows[1]["paid_rate"] == "" and rows[0]["paid_rate"].startswith("0.")
    only = regulator.get(f"/api/regulator/incidents/{incident.code}/claims/?status=partly_paid").json()["results"]
    assert [r["ref"] for r in only] == [sato.ref]
    assert regulator.get(f"/api/regulator/incidents/{incident.code}/claims/?status=nope").status_code == 400
    assert api_as(staff(Role.REVIEWER)).get(f"/api/regulator/incidents/{incident.code}/claims/").status_code == 403

    export = regulator.get(f"/api/regulator/incidents/{incident.code}/claims/?format=csv", HTTP_ACCEPT_LANGUAGE="en")
    table = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert [(r["Reference"], r["Status"], r["Outstanding"]) for r in table] == [
        (sato.ref, "partly_paid", str(Claim.objects.get(pk=sato.pk).outstanding_jpy)),
        (suzuki.ref, "submitted", "0"),
    ]


def test_a_claim_approved_at_nothing_is_closed_and_holds_nothing_back_once_final(both_filed):
    _incident, sato, _suzuki = both_filed
    reviewer = staff(Role.REVIEWER)
    services.claim_line_adjust(
        actor=reviewer,
        claim=sato,
        adjustments=[services.LineAdjustment("XEM", Decimal(0)), services.LineAdjustment("BTC", Decimal(0))],
        reason="the coins were withdrawn before the hack",
    )
    services.claim_recommend(actor=reviewer, claim=sato)
    closed = services.claim_approve(actor=staff(Role.APPROVER), claim=sato)

    assert (closed.status, closed.approved_amount_jpy, closed.outstanding_jpy) == ("closed_nothing_due", 0, 0)
    assert not Entitlement.objects.filter(claim_ref=sato.ref).exists()
    assert services.claim_is_appealable(closed)  # a cut decision: what was claimed stays held meanwhile
    assert Holdback.objects.get(claim_ref=sato.ref).held_jpy == SATO_JPY

    assert appeal_windows_close(now=timezone.now() + dt.timedelta(days=31)) == 1
    closed.refresh_from_db()
    assert not services.claim_is_appealable(closed)
    assert Holdback.objects.get(claim_ref=sato.ref).held_jpy == 0
    assert appeal_windows_close(now=timezone.now() + dt.timedelta(days=31)) == 0


def test_the_database_refuses_payment_states_that_lie(both_filed):
    _incident, sato, _suzuki = both_filed
    reserve_fund(10_000_000_000)
    _approved(sato)
    paid = Claim.objects.filter(pk=sato.pk)
    assert paid.get().status == "paid"
    for changes in (
        {"status": "partly_paid"},  # all of it was paid
        {"paid_jpy": SATO_JPY - 1},  # paid, but not in full
        {"status": "closed_nothing_due"},  # closed while money is owed
        {"paid_jpy": SATO_JPY + 1},  # more than approved
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            paid.update(**changes)


def test_a_payment_that_comes_back_is_no_longer_counted_until_it_is_paid_again(both_filed):
    _incident, sato, _suzuki = both_filed
    reserve_fund(10_000_000_000)
    _approved(sato)
    assert Claim.objects.get(pk=sato.pk).status == "paid"
    payout = Payout.objects.get(claim_ref=sato.ref)

    with transaction.atomic():  # the bank sends it back: account closed
        locked = Payout.objects.select_for_update().get(pk=payout.pk)
        payouts_mark_returned(actor=CHECKER, returns=[Return(locked, "02", "The account is closed")])

    back = Claim.objects.get(pk=sato.pk)
    assert (back.status, back.paid_jpy, back.outstanding_jpy, back.paid_at) == ("approved", 0, SATO_JPY, None)
    assert Event.objects.filter(action="claim.payment_returned", subject_id=str(sato.pk)).count() == 1

    payout_resend(actor=CHECKER, payout_id=payout.pk, payee=bank_payee(account_number="7654321"))

    again = Claim.objects.get(pk=sato.pk)
    assert (again.status, again.paid_jpy, again.outstanding_jpy) == ("paid", SATO_JPY, 0)
    assert allocation_replay(fund=IncidentFund.objects.get(incident_code=sato.incident.code)).ok
    assert ledger_reconcile().ok
