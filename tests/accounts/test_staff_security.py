"""Approvers and admins sign in with TOTP; failed logins are throttled; staff actions are audit-logged."""

import re

import pytest
from django.test import override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Event
from claims import services
from claims.models import Customer
from core.roles import Role
from tests.support.factories import PASSWORD, claim_file, incident_with_snapshot, user_with_role
from tests.support.login import otp_code, staff

pytestmark = pytest.mark.django_db


def test_an_approver_must_enrol_and_verify_before_any_page(client):
    approver = user_with_role(Role.APPROVER)
    client.login(username=approver.username, password=PASSWORD)

    response = client.get("/staff/claims/")
    assert response.status_code == 302 and response["Location"].startswith("/account/two-factor/")
    api = client.get("/api/staff/claims/")
    assert api.status_code == 403 and api.json()["error"] == "second_factor_required"

    enrol = client.get(response["Location"]).content.decode()
    assert "<svg" in enrol and 'data-testid="otp-secret"' in enrol
    device = TOTPDevice.objects.get(user=approver, confirmed=False)

    right = client.post("/account/two-factor/", {"otp_token": otp_code(device), "next": "/staff/claims/"})
    assert right.status_code == 302 and right["Location"] == "/staff/claims/"
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get("/staff/claims/").status_code == 200
    assert Event.objects.filter(action="staff.second_factor_enrolled", actor=approver.username).exists()


def test_an_enrolled_admin_enters_a_code_and_no_new_device_is_made(client):
    admin = user_with_role(Role.ADMIN)
    device = TOTPDevice.objects.create(user=admin, name="default", confirmed=True)
    client.login(username=admin.username, password=PASSWORD)
    page = client.get("/account/two-factor/").content.decode()
    assert "<svg" not in page
    client.post("/account/two-factor/", {"otp_token": otp_code(device), "next": "/staff/claims/"})
    assert TOTPDevice.objects.filter(user=admin).count() == 1
    assert client.get("/staff/claims/").status_code == 200


def test_a_wrong_code_is_refused_and_further_tries_are_throttled(client):
    approver = user_with_role(Role.APPROVER)
    device = TOTPDevice.objects.create(user=approver, name="default", confirmed=True)
    client.login(username=approver.username, password=PASSWORD)
    wrong = client.post("/account/two-factor/", {"otp_token": "000000"}, headers={"accept-language": "en"})
    assert wrong.status_code == 200 and "That code is not valid" in wrong.content.decode()
    # django-otp's throttling: right after a failure even the right code waits.
    assert client.post("/account/two-factor/", {"otp_token": otp_code(device)}).status_code == 200
    assert client.get("/staff/claims/").status_code == 302


def test_reviewers_need_the_second_factor_too_customers_do_not(client):
    reviewer = user_with_role(Role.REVIEWER)
    client.login(username=reviewer.username, password=PASSWORD)
    assert client.get("/staff/claims/")["Location"].startswith("/account/two-factor/")
    customer = user_with_role(Role.CUSTOMER)
    client.login(username=customer.username, password=PASSWORD)
    assert client.get("/account/security/").status_code == 200


def test_the_next_parameter_cannot_leave_the_site(client):
    approver = user_with_role(Role.APPROVER)
    device = TOTPDevice.objects.create(user=approver, name="default", confirmed=True)
    client.login(username=approver.username, password=PASSWORD)
    response = client.post(
        "/account/two-factor/", {"otp_token": otp_code(device), "next": "https://evil.example/phish"}
    )
    assert response["Location"] == "/"


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_repeated_failed_logins_lock_the_account(client):
    user = user_with_role(Role.REVIEWER)
    statuses = [client.post("/login/", {"username": user.username, "password": "wrong"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    locked = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert locked.status_code == 429
    assert "locked-out" in locked.content.decode()
    assert "_auth_user_id" not in client.session


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_a_successful_login_under_the_limit_works(client):
    user = user_with_role(Role.REVIEWER)
    client.post("/login/", {"username": user.username, "password": "wrong"})
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def test_every_staff_decision_is_audit_logged_with_actor_role_and_reason():
    incident = incident_with_snapshot()
    claim = claim_file(Customer.objects.get(account_id="ACC-1"), incident)
    reviewer, approver = staff(Role.REVIEWER), staff(Role.APPROVER)
    services.claim_verify(actor=reviewer, claim=claim, reason="documents look right")
    services.claim_info_request(actor=reviewer, claim=claim, message="Send ID")
    services.claim_respond(customer=claim.customer, claim=claim, message="sent")
    services.claim_recommend(actor=reviewer, claim=claim, reason="matches")
    services.claim_approve(actor=approver, claim=claim, reason="checked")

    events = {e.action: e for e in Event.objects.filter(subject_type="claims.claim", subject_id=str(claim.pk))}
    assert events["claim.verify"].data["reason"] == "documents look right"
    assert events["claim.request_info"].data["reason"] == "Send ID"
    assert events["claim.recommend"].actor == reviewer.username and events["claim.recommend"].role == "reviewer"
    assert events["claim.approve"].role == "approver" and events["claim.approve"].data["reason"] == "checked"
    assert events["claim.approve"].data["after"]["approved_amount_jpy"] == 3_838_593
    assert re.fullmatch(r"\*+\d{3}", events["claim.filed"].data["after"]["payout"]["account_number"])


def test_api_tokens_for_approvers_need_the_totp_code(api):
    approver = user_with_role(Role.APPROVER)
    device = TOTPDevice.objects.create(user=approver, name="default", confirmed=True)
    refused = api.post("/api/auth/token/", {"username": approver.username, "password": PASSWORD})
    assert refused.status_code == 403 and refused.json()["error"] == "second_factor_required"
    granted = api.post(
        "/api/auth/token/", {"username": approver.username, "password": PASSWORD, "otp_token": otp_code(device)}
    )
    assert granted.status_code == 200 and granted.json()["token"]


def test_api_tokens_for_reviewers_need_the_totp_code_customers_only_the_password(api):
    reviewer = user_with_role(Role.REVIEWER)
    device = TOTPDevice.objects.create(user=reviewer, name="default", confirmed=True)
    response = api.post("/api/auth/token/", {"username": reviewer.username, "password": PASSWORD})
    assert response.status_code == 403 and response.json()["error"] == "second_factor_required"
    granted = api.post(
        "/api/auth/token/", {"username": reviewer.username, "password": PASSWORD, "otp_token": otp_code(device)}
    )
    assert granted.status_code == 200
    wrong = api.post("/api/auth/token/", {"username": reviewer.username, "password": "nope"})
    assert wrong.status_code == 400
    customer = user_with_role(Role.CUSTOMER)
    assert api.post("/api/auth/token/", {"username": customer.username, "password": PASSWORD}).status_code == 200


def test_batches_carry_their_reasons_and_staff_file_reads_are_logged(api_as):
    from tests.support.factories import upload

    incident = incident_with_snapshot()
    claim = claim_file(Customer.objects.get(account_id="ACC-1"), incident, evidence=[upload()])
    reviewer, approver = staff(Role.REVIEWER), staff(Role.APPROVER)
    batch = (
        api_as(reviewer)
        .post(
            "/api/staff/claims/batches/", {"incident": incident.code, "reason": "day-1 matching claims"}, format="json"
        )
        .json()
    )
    api_as(approver).post("/api/staff/claims/bulk-approve/", {"batch": batch["id"], "reason": "sampled 5"})

    assert Event.objects.get(action="claim_batch.created").data["reason"] == "day-1 matching claims"
    assert Event.objects.get(action="claim_batch.approved").data["reason"] == "sampled 5"
    assert Event.objects.get(action="claim.approve").data["reason"] == "sampled 5"

    item = claim.evidence.get()
    assert api_as(reviewer).get(f"/api/claims/{claim.ref}/evidence/{item.pk}/").status_code == 200
    viewed = Event.objects.get(action="claim.evidence_viewed")
    assert viewed.actor == reviewer.username and viewed.data["after"]["sha256"] == item.sha256


def test_staff_sign_ins_are_logged_customer_sign_ins_are_not(client):
    reviewer = user_with_role(Role.REVIEWER)
    client.post("/login/", {"username": reviewer.username, "password": PASSWORD})
    assert Event.objects.filter(action="staff.logged_in", actor=reviewer.username).exists()
    customer = user_with_role(Role.CUSTOMER)
    client.post("/login/", {"username": customer.username, "password": PASSWORD})
    assert not Event.objects.filter(action="staff.logged_in", actor=customer.username).exists()
