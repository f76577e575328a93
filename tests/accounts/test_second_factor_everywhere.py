"""The second factor guards every privileged write (session or token); staff tokens expire and end on a role change.

The endpoint walk enumerates the URL resolver: a new API endpoint is covered without editing this test.
"""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.views import APIView

from core.roles import Role
from tests.support.factories import PASSWORD, user_with_role
from tests.support.login import login_verified, otp_code, otp_device
from tests.support.urls import project_urls

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch", "delete")
# Reached without any login, so a token is not asked for its second factor there.
NOT_PRIVILEGED = {"accounts:api-token"}


def _api_write_endpoints():
    """(name, path, methods) of every DRF view with a write method that reads credentials, from the resolver."""
    found = []
    for url in project_urls():
        view_class = url.view_class
        if view_class is None or not issubclass(view_class, APIView) or url.name in NOT_PRIVILEGED:
            continue
        if view_class.authentication_classes == []:  # public and stateless: no credentials are read
            continue
        methods = [m for m in WRITE_METHODS if hasattr(view_class, m)]
        if methods:
            found.append((url.name, url.path(), methods))
    return found


def test_the_walk_finds_the_staff_write_endpoints():
    names = {name for name, _path, _methods in _api_write_endpoints()}
    assert {"claims:api-staff-claim-decision", "claims:api-staff-bulk-approve", "reserves:api-fundings"} <= names
    assert len(names) >= 15


def test_every_staff_write_endpoint_refuses_an_unenrolled_approvers_token(api):
    """A token issued before its user became an approver (no second factor behind it) writes nothing."""
    approver = user_with_role(Role.APPROVER)
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=approver).key}")
    wrong = []
    for name, path, methods in _api_write_endpoints():
        for method in methods:
            response = getattr(api, method)(path, {}, format="json")
            body = response.json() if response.get("Content-Type", "").startswith("application/json") else {}
            if response.status_code != 403 or body.get("error") != "second_factor_required":
                wrong.append(f"{method.upper()} {path} ({name}): {response.status_code} {body}")
    assert not wrong, "\n".join(wrong)


def test_an_enrolled_staff_members_token_is_bound_to_the_factor_and_works(api):
    reviewer = user_with_role(Role.REVIEWER)
    device = otp_device(reviewer)
    token = api.post(
        "/api/auth/token/", {"username": reviewer.username, "password": PASSWORD, "otp_token": otp_code(device)}
    ).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/staff/claims/").status_code == 200
    # A bound token writes: an unknown claim is a 404, not a 403.
    assert api.post("/api/staff/claims/NOPE/decision/", {"action": "verify"}, format="json").status_code == 404


def test_a_staff_token_expires(api, settings):
    settings.STAFF_TOKEN_HOURS = 8
    reviewer = user_with_role(Role.REVIEWER)
    device = otp_device(reviewer)
    token = api.post(
        "/api/auth/token/", {"username": reviewer.username, "password": PASSWORD, "otp_token": otp_code(device)}
    ).json()["token"]
    Token.objects.filter(key=token).update(created=timezone.now() - dt.timedelta(hours=8, minutes=1))
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api.get("/api/staff/claims/")
    # 401 once anonymous API calls answer 401 with WWW-Authenticate (issue 9 item 6); 403 before.
    assert response.status_code in (401, 403) and response.json()["error"] == "authentication_failed"
    assert not Token.objects.filter(key=token).exists()


def test_a_customers_token_ends_when_they_become_an_approver(api):
    customer = user_with_role(Role.CUSTOMER)
    token = api.post("/api/auth/token/", {"username": customer.username, "password": PASSWORD}).json()["token"]
    customer.groups.add(Group.objects.get(name=Role.APPROVER))
    assert not Token.objects.filter(key=token).exists()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api.post("/api/staff/claims/bulk-approve/", {"batch": 1}, format="json")
    assert response.status_code in (401, 403) and response.json()["error"] == "authentication_failed"


def test_tokens_end_when_a_role_is_removed_or_the_admin_flag_changes():
    approver = user_with_role(Role.APPROVER)
    Token.objects.create(user=approver)
    Group.objects.get(name=Role.APPROVER).user_set.remove(approver)
    assert not Token.objects.filter(user=approver).exists()
    Token.objects.create(user=approver)
    approver.is_staff = True
    approver.save()
    assert not Token.objects.filter(user=approver).exists()


def test_a_role_change_ends_the_users_sessions(client):
    approver = user_with_role(Role.APPROVER)
    login_verified(client, approver)
    assert client.get("/staff/claims/").status_code == 200

    approver.groups.remove(Group.objects.get(name=Role.APPROVER))
    approver.groups.add(Group.objects.get(name=Role.REVIEWER))

    response = client.get("/staff/claims/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert "_auth_user_id" not in client.session


def test_a_session_page_write_by_an_unverified_reviewer_goes_to_the_second_factor(client):
    reviewer = user_with_role(Role.REVIEWER)
    client.force_login(reviewer)
    response = client.post("/staff/claims/batches/", {"incident": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/account/two-factor/")
    api = client.post("/api/staff/claims/batches/", {"incident": "x"}, content_type="application/json")
    assert api.status_code == 403 and api.json()["error"] == "second_factor_required"
