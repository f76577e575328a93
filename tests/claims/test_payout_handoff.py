"""What the payout side receives: the signal inside the approval transaction, the details selector, payments."""

import pytest
from django.db import transaction

from claims import selectors, services
from claims.models import Claim, Customer
from claims.signals import claims_approved
from config.roles import Role
from tests.factories import claim_file, incident_with_snapshot, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved():
    incident = incident_with_snapshot()
    claim = claim_file(Customer.objects.get(account_id="ACC-1"), incident)
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    return claim


def test_single_approval_sends_the_signal_inside_the_transaction(approved):
    seen = []

    def receiver(sender, claim_ids, incident_id, **kwargs):
        seen.append((claim_ids, incident_id, transaction.get_connection().in_atomic_block))

    claims_approved.connect(receiver)
    try:
        services.claim_approve(actor=staff(Role.APPROVER), claim=approved)
    finally:
        claims_approved.disconnect(receiver)
    assert seen == [([approved.pk], approved.incident_id, True)]


def test_a_failing_receiver_rolls_the_approval_back(approved):
    def receiver(**kwargs):
        raise RuntimeError("payout side refused")

    claims_approved.connect(receiver)
    try:
        with pytest.raises(RuntimeError):
            services.claim_approve(actor=staff(Role.APPROVER), claim=approved)
    finally:
        claims_approved.disconnect(receiver)
    assert Claim.objects.get().status == "recommended"


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
