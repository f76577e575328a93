"""Four-eyes: the approver is never the maker; two approvers above the threshold. Service, API and database."""

import pytest
from django.db import IntegrityError, transaction

from claims import services
from claims.models import Claim, ClaimAction, ClaimApproval, Customer, PayoutChoice
from core.roles import Role
from tests.support.login import staff

pytestmark = pytest.mark.django_db


def _decide(client, claim, **body):
    return client.post(f"/api/staff/claims/{claim.ref}/decision/", body, format="json")


def test_the_approver_who_recommended_cannot_approve_through_the_api(api_as, claim):
    approver = staff(Role.APPROVER)
    client = api_as(approver)
    assert _decide(client, claim, action="recommend").status_code == 200
    response = _decide(client, claim, action="approve")
    assert response.status_code == 422
    assert response.json()["error"] == "four_eyes"
    assert Claim.objects.get().status == "recommended"
    assert not ClaimApproval.objects.exists()


def test_the_approver_who_adjusted_cannot_approve(api_as, claim):
    approver = staff(Role.APPROVER)
    client = api_as(approver)
    _decide(client, claim, action="adjust", reason="fee", lines=[{"asset": "XEM", "approved_quantity": "1000"}])
    _decide(api_as(staff(Role.REVIEWER)), claim, action="recommend")
    response = _decide(client, claim, action="approve")
    assert response.status_code == 422 and response.json()["error"] == "four_eyes"


def test_above_the_threshold_two_distinct_approvers_are_needed(api_as, claim, settings):
    settings.CLAIM_SECOND_APPROVER_THRESHOLD_JPY = 1_000_000
    first, second = staff(Role.APPROVER), staff(Role.APPROVER)
    _decide(api_as(staff(Role.REVIEWER)), claim, action="recommend")

    once = _decide(api_as(first), claim, action="approve").json()
    assert once["status"] == "recommended" and once["required_approvals"] == 2
    again = _decide(api_as(first), claim, action="approve")
    assert again.status_code == 409 and again.json()["error"] == "already_approved"
    twice = _decide(api_as(second), claim, action="approve").json()
    assert twice["status"] == "approved"
    assert {a["approver"] for a in twice["approvals"]} == {first.username, second.username}


def test_at_the_threshold_one_approver_suffices(claim, settings):
    settings.CLAIM_SECOND_APPROVER_THRESHOLD_JPY = 3_838_593
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    assert services.claim_approve(actor=staff(Role.APPROVER), claim=claim).status == "approved"


def test_approving_needs_the_second_factor(api_as, claim):
    from tests.support.factories import user_with_role
    from tests.support.login import otp_code, otp_device

    _decide(api_as(staff(Role.REVIEWER)), claim, action="recommend")
    approver = user_with_role(Role.APPROVER)  # logged in by token, no verified session
    refused = _decide(api_as(approver), claim, action="approve")
    assert refused.status_code == 403 and refused.json()["error"] == "second_factor_required"
    wrong = _decide(api_as(approver), claim, action="approve", otp_token="000000")
    assert wrong.status_code == 403
    device = otp_device(approver)
    accepted = _decide(api_as(approver), claim, action="approve", otp_token=otp_code(device))
    assert accepted.status_code == 200 and accepted.json()["status"] == "approved"


@pytest.mark.postgres
class TestTheDatabaseRefuses:
    """Going around the services: PostgreSQL's triggers refuse (migration 0005)."""

    def test_an_approval_by_the_maker(self, claim):
        maker = staff(Role.APPROVER)
        services.claim_recommend(actor=maker, claim=claim)
        with pytest.raises(IntegrityError, match="four-eyes"), transaction.atomic():
            ClaimApproval.objects.create(claim=claim, approver=maker)

    def test_an_approval_by_an_adjuster(self, claim):
        adjuster = staff(Role.APPROVER)
        ClaimAction.objects.create(claim=claim, actor=adjuster, kind="adjust", reason="x")
        with pytest.raises(IntegrityError, match="four-eyes"), transaction.atomic():
            ClaimApproval.objects.create(claim=claim, approver=adjuster)

    def test_a_maker_step_by_someone_who_approved(self, claim):
        approver = staff(Role.APPROVER)
        services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
        ClaimApproval.objects.create(claim=claim, approver=approver)
        with pytest.raises(IntegrityError, match="four-eyes"), transaction.atomic():
            ClaimAction.objects.create(claim=claim, actor=approver, kind="adjust", reason="x")

    def test_setting_approved_without_an_approval(self, claim):
        services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
        with pytest.raises(IntegrityError, match="four-eyes"), transaction.atomic():
            Claim.objects.filter(pk=claim.pk).update(status="approved", approved_amount_jpy=1)

    def test_setting_approved_without_a_recommendation(self, claim):
        ClaimApproval.objects.create(claim=claim, approver=staff(Role.APPROVER))
        with pytest.raises(IntegrityError, match="four-eyes"), transaction.atomic():
            Claim.objects.filter(pk=claim.pk).update(status="approved", approved_amount_jpy=1)

    def test_one_approval_when_two_are_required(self, claim):
        services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
        Claim.objects.filter(pk=claim.pk).update(required_approvals=2)
        ClaimApproval.objects.create(claim=claim, approver=staff(Role.APPROVER))
        with pytest.raises(IntegrityError, match="four-eyes"), transaction.atomic():
            Claim.objects.filter(pk=claim.pk).update(status="approved", approved_amount_jpy=1)

    def test_changing_an_approved_amount_or_paying_an_unapproved_claim(self, claim):
        with pytest.raises(IntegrityError), transaction.atomic():
            Claim.objects.filter(pk=claim.pk).update(status="paid", approved_amount_jpy=5)
        services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
        services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
        with pytest.raises(IntegrityError, match="fixed"), transaction.atomic():
            Claim.objects.filter(pk=claim.pk).update(approved_amount_jpy=10**9)

    def test_changing_the_payout_choice_after_approval(self, claim):
        services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
        services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
        with pytest.raises(IntegrityError, match="locked"), transaction.atomic():
            PayoutChoice.objects.filter(claim=claim).update(account_number="7777777")

    def test_a_claim_created_approved(self, claim):
        with pytest.raises(IntegrityError), transaction.atomic():
            Claim.objects.create(
                ref="C-FAKE-0001",
                incident=claim.incident,
                customer=Customer.objects.get(account_id="ACC-2"),
                status="approved",
                approved_amount_jpy=10**6,
                idempotency_key="x",
                request_fingerprint="x",
            )
