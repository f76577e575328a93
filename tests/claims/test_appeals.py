"""Appeals go to a reviewer who took no part in the first decision; only once."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from claims import services
from claims.models import Claim, ClaimAction
from core.errors import ApplicationError, Conflict, InvalidInput
from core.roles import Role
from tests.support.login import staff

pytestmark = pytest.mark.django_db


def test_rejected_claim_appeal_is_decided_by_new_people(claim):
    first = staff(Role.REVIEWER)
    services.claim_reject(actor=first, claim=claim, reason="no such account")
    fresh = staff(Role.REVIEWER)
    services.claim_appeal(customer=claim.customer, claim=claim, reason="here is my statement")
    claim.refresh_from_db()
    assert claim.assigned_reviewer == fresh and claim.review_round == 1

    with pytest.raises(ApplicationError) as refused:
        services.claim_verify(actor=first, claim=claim)
    assert refused.value.code == "four_eyes"

    services.claim_recommend(actor=fresh, claim=claim)
    approved = services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
    assert approved.status == "approved" and approved.approved_amount_jpy == 3_838_593


def test_an_approver_from_the_first_round_cannot_approve_the_appeal(claim):
    reviewer, approver = staff(Role.REVIEWER), staff(Role.APPROVER)
    services.claim_line_adjust(
        actor=reviewer,
        claim=claim,
        adjustments=[services.LineAdjustment("BTC", Decimal("0.2"))],
        reason="withdrawal before the breach",
    )
    services.claim_recommend(actor=reviewer, claim=claim)
    services.claim_approve(actor=approver, claim=claim)
    services.claim_appeal(customer=claim.customer, claim=claim, reason="the withdrawal was the thief's")
    fresh = staff(Role.REVIEWER)
    services.claim_line_adjust(
        actor=fresh, claim=claim, adjustments=[services.LineAdjustment("BTC", Decimal("0.25"))], reason="agreed"
    )
    services.claim_recommend(actor=fresh, claim=claim)
    with pytest.raises(ApplicationError) as refused:
        services.claim_approve(actor=approver, claim=claim)
    assert refused.value.code == "four_eyes"

    again = services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
    assert again.status == "approved" and again.approved_amount_jpy == 3_838_593


def test_an_appeal_of_an_adjustment_that_is_turned_down_keeps_the_approval(claim):
    reviewer = staff(Role.REVIEWER)
    services.claim_line_adjust(
        actor=reviewer, claim=claim, adjustments=[services.LineAdjustment("BTC", Decimal("0.2"))], reason="fee"
    )
    services.claim_recommend(actor=reviewer, claim=claim)
    services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
    amount = Claim.objects.get().approved_amount_jpy
    services.claim_appeal(customer=claim.customer, claim=claim, reason="no fee applies")
    fresh = staff(Role.REVIEWER)
    services.claim_line_adjust(
        actor=fresh, claim=claim, adjustments=[services.LineAdjustment("BTC", Decimal("0.24"))], reason="try"
    )

    after = services.claim_reject(actor=fresh, claim=claim, reason="the fee is in the terms")

    assert after.status == "approved" and after.approved_amount_jpy == amount
    assert after.lines.get(asset__symbol="BTC").approved_quantity == Decimal("0.2")
    with pytest.raises(Conflict):
        services.claim_appeal(customer=claim.customer, claim=after, reason="again")


def test_an_appeal_cannot_lower_an_approved_quantity(claim):
    reviewer = staff(Role.REVIEWER)
    services.claim_line_adjust(
        actor=reviewer, claim=claim, adjustments=[services.LineAdjustment("BTC", Decimal("0.2"))], reason="fee"
    )
    services.claim_recommend(actor=reviewer, claim=claim)
    services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
    services.claim_appeal(customer=claim.customer, claim=claim, reason="no fee")
    with pytest.raises(InvalidInput):
        services.claim_line_adjust(
            actor=staff(Role.REVIEWER),
            claim=claim,
            adjustments=[services.LineAdjustment("BTC", Decimal("0.1"))],
            reason="less",
        )


def test_an_unadjusted_approval_cannot_be_appealed(claim):
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
    with pytest.raises(ApplicationError) as refused:
        services.claim_appeal(customer=claim.customer, claim=claim, reason="more please")
    assert refused.value.code == "not_appealable"


@pytest.mark.postgres
def test_the_database_refuses_a_first_round_reviewer_in_the_appeal(claim):
    first = staff(Role.REVIEWER)
    services.claim_reject(actor=first, claim=claim, reason="no")
    services.claim_appeal(customer=claim.customer, claim=claim, reason="yes")
    with pytest.raises(IntegrityError, match="first decision"), transaction.atomic():
        ClaimAction.objects.create(claim=claim, actor=first, kind="verify", review_round=1)
