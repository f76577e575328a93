"""Approved claims reach the payout workflow and come back paid: claims -> reserves -> claims."""

import time
from decimal import Decimal

import pytest
from django.core.management import call_command

from audit.log.verify import log_verify
from audit.models import Receipt
from audit.receipts import receipt_verify
from claims import selectors, services
from claims.models import Claim, Customer
from claims.services import handoff
from core.errors import Conflict
from core.roles import Role
from reserves import engine
from reserves import services as reserve_services
from reserves.models import Entitlement, IncidentFund, Payout
from reserves.selectors import ledger_reconcile
from tests.support.factories import claim_file, incident_with_snapshot
from tests.support.login import staff
from tests.support.money import paid_by_claim, reserve_fund

SATO_FULL_JPY = 3_838_593  # 1000.5 XEM x 88.549 + 0.25 BTC x 15,000,000, truncated per line


def _recommended(account_id: str = "ACC-1") -> Claim:
    incident = incident_with_snapshot()
    claim = claim_file(Customer.objects.get(account_id=account_id), incident)
    return services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)


def _adjusted_and_approved(quantity: str) -> Claim:
    """Sato's claim with BTC cut to `quantity`, recommended and approved."""
    incident = incident_with_snapshot()
    claim = claim_file(Customer.objects.get(account_id="ACC-1"), incident)
    reviewer = staff(Role.REVIEWER)
    services.claim_line_adjust(
        actor=reviewer, claim=claim, adjustments=[services.LineAdjustment("BTC", Decimal(quantity))], reason="fee"
    )
    services.claim_recommend(actor=reviewer, claim=claim)
    return services.claim_approve(actor=staff(Role.APPROVER), claim=claim)


def _appeal_upheld(claim: Claim, quantity: str) -> Claim:
    services.claim_appeal(customer=claim.customer, claim=claim, reason="the fee does not apply")
    fresh = staff(Role.REVIEWER)
    services.claim_line_adjust(
        actor=fresh, claim=claim, adjustments=[services.LineAdjustment("BTC", Decimal(quantity))], reason="agreed"
    )
    services.claim_recommend(actor=fresh, claim=claim)
    return services.claim_approve(actor=staff(Role.APPROVER), claim=claim)


@pytest.mark.django_db(transaction=True)
def test_an_approved_claim_is_paid_from_the_reserve_and_marked_paid():
    reserve_fund(10_000_000_000)
    claim = _recommended()
    assert IncidentFund.objects.filter(incident_code=claim.incident.code).exists()  # opened with the incident

    services.claim_approve(actor=staff(Role.APPROVER), claim=claim)  # tasks run in-process after each commit

    claim.refresh_from_db()
    assert claim.status == "paid"
    assert claim.timeline.last().status == "paid"
    entitlement = Entitlement.objects.get(claim_ref=claim.ref)
    assert entitlement.eligible_jpy == claim.approved_amount_jpy == SATO_FULL_JPY
    assert entitlement.payee["account_number"] == "1234567"
    assert paid_by_claim() == {claim.ref: SATO_FULL_JPY}
    payout = Payout.objects.get()
    assert payout.breakdown == {"reserve": SATO_FULL_JPY}
    assert ledger_reconcile().ok
    assert log_verify().ok


@pytest.mark.django_db(transaction=True)
def test_an_upheld_appeal_raises_the_entitlement_and_pays_only_the_difference():
    reserve_fund(10_000_000_000)
    claim = _adjusted_and_approved("0.2")
    first = Claim.objects.get(pk=claim.pk)
    assert first.status == "paid"
    assert paid_by_claim() == {claim.ref: first.approved_amount_jpy}

    raised = _appeal_upheld(Claim.objects.get(pk=claim.pk), "0.25")

    assert raised.approved_amount_jpy == SATO_FULL_JPY > first.approved_amount_jpy
    assert Entitlement.objects.get(claim_ref=claim.ref).eligible_jpy == SATO_FULL_JPY
    amounts = sorted(Payout.objects.filter(status="paid").values_list("amount_jpy", flat=True))
    assert amounts == sorted([first.approved_amount_jpy, SATO_FULL_JPY - first.approved_amount_jpy])
    assert paid_by_claim() == {claim.ref: SATO_FULL_JPY}
    assert Claim.objects.get(pk=claim.pk).status == "paid"
    assert ledger_reconcile().ok


@pytest.mark.django_db
def test_a_lost_hand_off_message_is_found_by_the_sweep(django_capture_on_commit_callbacks):
    claim = _recommended()
    with django_capture_on_commit_callbacks(execute=False) as queued:  # the broker never gets the message
        services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
    assert queued  # the hand-off was queued, and is now lost
    assert not Entitlement.objects.exists()
    assert selectors.claims_awaiting_hand_off() == [claim.pk]

    assert services.claims_hand_off_sweep() == {"handed_off": 1, "payments_recorded": 0}

    assert Entitlement.objects.get(claim_ref=claim.ref).eligible_jpy == SATO_FULL_JPY
    assert selectors.claims_awaiting_hand_off() == []
    assert services.claims_hand_off_sweep() == {"handed_off": 0, "payments_recorded": 0}


@pytest.mark.django_db
def test_a_hand_off_delivered_twice_registers_once(django_capture_on_commit_callbacks):
    claim = _recommended()
    with django_capture_on_commit_callbacks(execute=False):
        services.claim_approve(actor=staff(Role.APPROVER), claim=claim)

    assert services.claims_hand_off(claim_ids=[claim.pk]) == 1
    assert services.claims_hand_off(claim_ids=[claim.pk]) == 0

    assert Entitlement.objects.filter(claim_ref=claim.ref).count() == 1


@pytest.mark.django_db
def test_claims_not_approved_are_not_handed_off():
    claim = _recommended()
    assert services.claims_hand_off(claim_ids=[claim.pk]) == 0
    assert not Entitlement.objects.exists()


@pytest.mark.django_db
def test_an_entitlement_is_never_lowered(django_capture_on_commit_callbacks):
    claim = _recommended()
    with django_capture_on_commit_callbacks(execute=False):
        services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
    services.claims_hand_off(claim_ids=[claim.pk])

    with pytest.raises(Conflict) as refused:
        reserve_services.entitlement_eligible_raise(
            actor=handoff.ACTOR, claim_ref=claim.ref, eligible_jpy=SATO_FULL_JPY - 1, lines=[]
        )

    assert refused.value.code == "entitlement_decrease"
    assert Entitlement.objects.get().eligible_jpy == SATO_FULL_JPY


@pytest.mark.django_db
def test_paid_sync_is_idempotent_and_skips_unpaid_claims(django_capture_on_commit_callbacks):
    reserve_fund(10_000_000_000)
    claim = _recommended()
    other = claim_file(Customer.objects.get(account_id="ACC-2"), claim.incident)
    with django_capture_on_commit_callbacks(execute=False):
        services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
    assert services.claims_paid_sync(claim_refs=[claim.ref]) == 0  # approved is not paid: nothing was sent yet
    services.claims_hand_off(claim_ids=[claim.pk])
    engine.allocation_run(actor=None, incident_code=claim.incident.code)
    chunk = engine.payouts_allocate_chunk(fund_id=IncidentFund.objects.get().pk, limit=10)
    engine.payouts_dispatch(payout_ids=chunk.payout_ids, leased=True)

    assert services.claims_paid_sync(claim_refs=[claim.ref, other.ref]) == 1
    assert services.claims_paid_sync(claim_refs=[claim.ref]) == 0
    paid = Claim.objects.get(pk=claim.pk)
    assert (paid.status, paid.paid_jpy, paid.outstanding_jpy) == ("paid", SATO_FULL_JPY, 0)
    assert Claim.objects.get(pk=other.pk).status == "submitted"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_real_worker_takes_an_approval_all_the_way_to_paid(celery_worker):
    reserve_fund(10_000_000_000)
    claim = _recommended()

    services.claim_approve(actor=staff(Role.APPROVER), claim=claim)

    deadline = time.monotonic() + 60
    while Claim.objects.get(pk=claim.pk).status != "paid" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert Claim.objects.get(pk=claim.pk).status == "paid"
    assert paid_by_claim() == {claim.ref: SATO_FULL_JPY}
    payout = Payout.objects.get()
    assert payout.status == "paid"
    # The worker signs the payout's receipt after the payment committed (follow-up work).
    receipts = Receipt.objects.filter(subject_type="reserves.payout", subject_id=str(payout.pk))
    while not receipts.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    receipt = receipts.get()
    assert receipt.document["payload"]["claim_ref"] == claim.ref
    assert receipt.document["payload"]["amount_jpy"] == SATO_FULL_JPY
    assert receipt_verify(receipt.document).ok
    call_command("ledger_reconcile")
