"""What the payout side receives: the hand-off after the approval commits, the details selector, payments."""

import pytest

from claims import selectors, services
from claims.models import Claim, Customer
from core.roles import Role
from reserves.models import Entitlement
from tests.support.factories import claim_file, incident_with_snapshot
from tests.support.login import staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved():
    incident = incident_with_snapshot()
    claim = claim_file(Customer.objects.get(account_id="ACC-1"), incident)
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    return claim


def test_an_approval_is_handed_to_reserves_only_once_it_commits(approved, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        services.claim_approve(actor=staff(Role.APPROVER), claim=approved)
    assert not Entitlement.objects.exists()  # nothing reached reserves inside the approval's transaction

    for callback in queued:
        callback()
    entitlement = Entitlement.objects.get()
    assert entitlement.claim_ref == approved.ref and entitlement.eligible_jpy == 3_838_593


def test_a_lost_hand_off_leaves_the_approval_standing_for_the_sweep(approved, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # the message is lost: nothing runs after commit
        services.claim_approve(actor=staff(Role.APPROVER), claim=approved)

    assert Claim.objects.get().status == "approved"
    assert selectors.claims_awaiting_hand_off() == [approved.pk]
    assert services.claims_hand_off_sweep() == {"handed_off": 1, "payments_recorded": 0}
    assert selectors.claims_awaiting_hand_off() == []


def test_payout_details_have_everything_unmasked(approved):
    services.claim_approve(actor=staff(Role.APPROVER), claim=approved)
    (detail,) = selectors.claim_payout_details(claim_ids=[approved.pk])
    assert detail.ref == approved.ref and detail.incident_code == approved.incident.code
    assert detail.customer_account_id == "ACC-1" and detail.customer_name == "Sato Haruto"
    assert detail.approved_amount_jpy == 3_838_593 == sum(line.value_jpy for line in detail.lines)
    assert [(line.symbol, str(line.quantity)) for line in detail.lines] == [
        ("BTC", "0.250000000000000000"),
        ("XEM", "1000.500000000000000000"),
    ]
    assert detail.payout["account_number"] == "1234567"
    assert detail.payout["holder_name_kana"] == "ｻﾄｳ ﾊﾙﾄ"


def test_unapproved_claims_have_no_payout_details(approved):
    assert selectors.claim_payout_details(claim_ids=[approved.pk]) == []


def test_an_approval_without_money_paid_is_not_a_payment(approved):
    services.claim_approve(actor=staff(Role.APPROVER), claim=approved)  # the reserve is empty: nothing is paid
    assert services.claims_payments_sync(claim_ids=[approved.pk]) == 0
    claim = Claim.objects.get()
    assert (claim.status, claim.paid_jpy, claim.paid_at) == ("approved", 0, None)
    assert claim.outstanding_jpy == claim.approved_amount_jpy
