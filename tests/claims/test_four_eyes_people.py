"""Four-eyes between people, not logins: nobody decides their own claim, a person with two logins counts once.

Each staff login belongs to a staff member (accounts.StaffMember). Tested through the API and, going
around the services, against PostgreSQL's triggers and constraints (claims/migrations/0008).
"""

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from claims import services
from claims.models import Claim, ClaimAction, ClaimApproval, ClaimBatch, Customer
from core.roles import Role
from tests.support.factories import claim_file, customer_user, staff_member_of
from tests.support.login import staff

pytestmark = pytest.mark.django_db


def _decide(client, claim, **body):
    return client.post(f"/api/staff/claims/{claim.ref}/decision/", body, format="json")


@pytest.fixture
def own_claim(incident):
    """Sato's claim, filed with a customer login that is also an approver's login (one person, one account)."""
    sato = Customer.objects.get(account_id="ACC-1")
    user = customer_user(sato)
    user.groups.add(Group.objects.get(name=Role.APPROVER))
    staff_member_of(user)
    claim = claim_file(sato, incident)
    from tests.support.login import otp_verified

    return claim, otp_verified(user)


@pytest.fixture
def second_login():
    """Two approver logins of one person."""
    first = staff(Role.APPROVER)
    second = staff(Role.APPROVER, username=f"{first.username}-2")
    second.staff_account.delete()
    staff_member_of(second, member=first.staff_account.member)
    return first, second


def test_a_customer_who_is_an_approver_cannot_approve_their_own_claim(api_as, own_claim):
    claim, me = own_claim
    _decide(api_as(staff(Role.REVIEWER)), claim, action="recommend")

    response = _decide(api_as(me), claim, action="approve")

    assert response.status_code == 403 and response.json()["error"] == "own_claim"
    assert Claim.objects.get(pk=claim.pk).status == "recommended"
    assert not ClaimApproval.objects.exists()


@pytest.mark.parametrize("action", ["verify", "recommend", "reject", "request_info"])
def test_nor_take_any_other_decision_on_it(api_as, own_claim, action):
    claim, me = own_claim
    response = _decide(api_as(me), claim, action=action, reason="mine")
    assert response.status_code == 403 and response.json()["error"] == "own_claim"
    assert not ClaimAction.objects.exists()


def test_nor_adjust_it(api_as, own_claim):
    claim, me = own_claim
    response = _decide(
        api_as(me), claim, action="adjust", reason="more", lines=[{"asset": "XEM", "approved_quantity": "1000"}]
    )
    assert response.status_code == 403 and response.json()["error"] == "own_claim"


def test_their_other_login_cannot_approve_it_either(api_as, own_claim):
    claim, me = own_claim
    other = staff(Role.APPROVER, username="other-login-of-sato")
    other.staff_account.delete()
    staff_member_of(other, member=me.staff_account.member)
    _decide(api_as(staff(Role.REVIEWER)), claim, action="recommend")
    response = _decide(api_as(other), claim, action="approve")
    assert response.status_code == 403 and response.json()["error"] == "own_claim"


def test_a_bulk_batch_leaves_out_the_makers_own_claim_and_the_checker_cannot_approve_one(api_as, own_claim, incident):
    claim, me = own_claim
    suzuki = claim_file(Customer.objects.get(account_id="ACC-2"), incident)
    batch = services.claim_batch_create(actor=me, incident=incident)
    assert set(batch.claims.values_list("pk", flat=True)) == {suzuki.pk}

    other_batch_claims = Claim.objects.filter(pk=claim.pk)
    maker = staff(Role.REVIEWER)
    batch2 = services.claim_batch_create(actor=maker, incident=incident)
    assert set(batch2.claims.values_list("pk", flat=True)) == set(other_batch_claims.values_list("pk", flat=True))
    response = api_as(me).post("/api/staff/claims/bulk-approve/", {"batch": batch2.pk}, format="json")
    assert response.status_code == 403 and response.json()["error"] == "own_claim"
    assert ClaimBatch.objects.get(pk=batch2.pk).status == "proposed"


def test_the_makers_second_login_cannot_approve(api_as, claim, second_login):
    first, second = second_login
    assert _decide(api_as(first), claim, action="recommend").status_code == 200
    response = _decide(api_as(second), claim, action="approve")
    assert response.status_code == 422 and response.json()["error"] == "four_eyes"


def test_two_logins_of_one_person_count_once_for_two_approvals(api_as, claim, second_login, settings):
    settings.CLAIM_SECOND_APPROVER_THRESHOLD_JPY = 1_000_000
    first, second = second_login
    _decide(api_as(staff(Role.REVIEWER)), claim, action="recommend")
    assert _decide(api_as(first), claim, action="approve").json()["status"] == "recommended"
    again = _decide(api_as(second), claim, action="approve")
    assert again.status_code == 409 and again.json()["error"] == "already_approved"
    assert Claim.objects.get(pk=claim.pk).status == "recommended"


def test_a_batch_is_not_approved_by_the_makers_other_login(api_as, claim, incident, second_login):
    first, second = second_login
    batch = services.claim_batch_create(actor=first, incident=incident)
    response = api_as(second).post("/api/staff/claims/bulk-approve/", {"batch": batch.pk}, format="json")
    assert response.status_code == 422 and response.json()["error"] == "four_eyes"


def test_a_staff_login_of_nobody_decides_nothing(api_as, claim):
    reviewer = staff(Role.REVIEWER)
    reviewer.staff_account.delete()
    response = _decide(api_as(reviewer), claim, action="verify")
    assert response.status_code == 403 and response.json()["error"] == "no_staff_member"


@pytest.mark.postgres
class TestTheDatabaseRefuses:
    """Going around the services through the ORM: PostgreSQL refuses (claims/migrations/0008)."""

    def test_an_approval_by_the_claimant(self, own_claim):
        claim, me = own_claim
        services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
        with pytest.raises(IntegrityError, match="claimant"), transaction.atomic():
            ClaimApproval.objects.create(claim=claim, approver=me)

    @pytest.mark.parametrize("kind", ["verify", "adjust", "recommend", "reject"])
    def test_a_decision_by_the_claimant(self, own_claim, kind):
        claim, me = own_claim
        with pytest.raises(IntegrityError, match="claimant"), transaction.atomic():
            ClaimAction.objects.create(claim=claim, actor=me, kind=kind, reason="x")

    def test_an_approval_by_the_makers_other_login(self, claim, second_login):
        first, second = second_login
        services.claim_recommend(actor=first, claim=claim)
        with pytest.raises(IntegrityError, match="four-eyes"), transaction.atomic():
            ClaimApproval.objects.create(claim=claim, approver=second)

    def test_a_second_approval_by_the_same_person(self, claim, second_login):
        first, second = second_login
        services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
        ClaimApproval.objects.create(claim=claim, approver=first)
        with pytest.raises(IntegrityError, match="claim_approval_distinct_people"), transaction.atomic():
            ClaimApproval.objects.create(claim=claim, approver=second)

    def test_a_member_that_is_not_the_logins_person(self, claim, second_login):
        first, _second = second_login
        stranger = staff(Role.APPROVER)
        services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
        with pytest.raises(IntegrityError), transaction.atomic():
            ClaimApproval.objects.create(claim=claim, approver=first, approver_member=stranger.staff_account.member)

    def test_a_batch_checked_by_its_makers_person(self, claim, incident, second_login):
        first, second = second_login
        batch = services.claim_batch_create(actor=first, incident=incident)
        with pytest.raises(IntegrityError, match="claim_batch_four_eyes_people"), transaction.atomic():
            ClaimBatch.objects.filter(pk=batch.pk).update(
                status="approved", approved_by=second, approved_by_member=first.staff_account.member
            )
