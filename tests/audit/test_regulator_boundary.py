"""Regulators see only the regulator portal: staff pages and APIs answer 403, and every request they make is audited."""

import pytest
from rest_framework.authtoken.models import Token

from audit.models import Event
from core.roles import Role
from tests.support.factories import PASSWORD, incident_with_snapshot, user_with_role

pytestmark = pytest.mark.django_db

# The five staff money APIs a regulator could read before (issue 9), and the staff claims API.
STAFF_APIS = [
    "/api/staff/reserve/",
    "/api/staff/reserve/fundings/",
    "/api/staff/policies/",
    "/api/staff/payouts/",
    "/api/staff/funds/{code}/",
    "/api/staff/claims/",
    "/api/staff/incidents/",
]
STAFF_PAGES = ["/staff/reserve/", "/staff/payouts/", "/staff/funds/", "/staff/claims/", "/staff/rails/"]


def _viewed(user):
    return list(Event.objects.filter(action="regulator.viewed", actor=user.username).order_by("seq"))


def test_staff_apis_answer_403_to_a_regulators_token_and_each_attempt_is_audited(api):
    incident = incident_with_snapshot()
    regulator = user_with_role(Role.REGULATOR)
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=regulator).key}")
    paths = [p.format(code=incident.code) for p in STAFF_APIS]

    statuses = {path: api.get(path).status_code for path in paths}

    assert statuses == dict.fromkeys(paths, 403)
    assert [(e.data["path"], e.data["status"]) for e in _viewed(regulator)] == [(p, 403) for p in paths]


def test_staff_pages_answer_403_to_a_regulator_and_are_audited(client):
    regulator = user_with_role(Role.REGULATOR)
    client.login(username=regulator.username, password=PASSWORD)
    assert {path: client.get(path).status_code for path in STAFF_PAGES} == dict.fromkeys(STAFF_PAGES, 403)
    assert [e.data["path"] for e in _viewed(regulator)] == STAFF_PAGES


def test_the_regulator_role_holds_no_staff_permission():
    regulator = user_with_role(Role.REGULATOR)
    assert not regulator.has_perm("reserves.view_money")
    assert not regulator.has_perm("claims.view_incident")


def test_the_portal_still_answers_and_is_audited(client):
    regulator = user_with_role(Role.REGULATOR)
    client.login(username=regulator.username, password=PASSWORD)
    for path in ["/regulator/", "/regulator/reserve/", "/api/regulator/reserve/", "/api/regulator/incidents/"]:
        assert client.get(path).status_code == 200, path
    assert len(_viewed(regulator)) == 4
