"""Each role reaches what it should and nothing more."""

import pytest
from django.contrib.auth.models import Group

from claims.models import Incident
from core.roles import ROLE_PERMISSIONS, Role
from tests.support.factories import CustomerFactory, customer_user, incident_declare, incident_with_snapshot
from tests.support.login import login_verified

pytestmark = pytest.mark.django_db

STAFF_GET = "/api/staff/incidents/"
DECLARE = {
    "code": "x-1",
    "title": "t",
    "occurred_at": "2026-01-01T00:00:00Z",
    "detected_at": "2026-01-01T01:00:00Z",
    "snapshot_base_time": "2026-01-01T00:00:00Z",
    "claim_opens_at": "2026-01-02T00:00:00Z",
    "claim_closes_at": "2026-03-01T00:00:00Z",
    "assets": [{"symbol": "XEM", "quantity_lost": "1", "wallet_type": "hot"}],
}


def test_groups_carry_exactly_the_declared_permissions():
    for role, perms in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role.value)
        have = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert have == perms


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [
        (Role.CUSTOMER, 403, 403),
        (Role.REGULATOR, 403, 403),
        (Role.REVIEWER, 200, 403),
        (Role.APPROVER, 200, 201),
        (Role.ADMIN, 200, 201),
    ],
)
def test_staff_incident_endpoints_by_role(api_as, role, read, write):
    client = api_as(role)
    assert client.get(STAFF_GET).status_code == read
    response = client.post(STAFF_GET, DECLARE, format="json")
    assert response.status_code == write
    if write == 403:
        assert response.json() == {"error": "permission_denied", "detail": "Your role may not do this."}
        assert not Incident.objects.exists()


@pytest.mark.parametrize("path", ["transition/", "snapshot/", "assets/", "assets/XEM/price/"])
def test_customer_and_reviewer_cannot_change_incidents(api_as, path):
    incident = incident_declare()
    for role in (Role.CUSTOMER, Role.REVIEWER, Role.REGULATOR):
        response = api_as(role).post(f"/api/staff/incidents/{incident.code}/{path}", {}, format="json")
        assert response.status_code == 403, (role, path)


def test_anonymous_gets_401_with_www_authenticate_as_json(api):
    response = api.get(STAFF_GET)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"] == "not_authenticated"


def test_token_authentication_works(api):

    from accounts.tokens import token_issue
    from tests.support.factories import user_with_role
    from tests.support.login import otp_device

    reviewer = user_with_role(Role.REVIEWER)
    token = token_issue(user=reviewer, device=otp_device(reviewer))  # a staff token is bound to its second factor
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get(STAFF_GET).status_code == 200


def test_staff_cannot_use_customer_endpoints(api_as):
    assert api_as(Role.APPROVER).get("/api/incidents/").status_code == 403


def test_customer_sees_only_incidents_that_affect_them(api_as):
    mine = incident_with_snapshot([("ACC-1", "Sato", "sato@example.jp", "XEM", "100")])
    other = incident_with_snapshot([("ACC-2", "Ito", "ito@example.jp", "XEM", "5")])
    from claims.models import Customer

    client = api_as(customer_user(Customer.objects.get(account_id="ACC-1")))

    listed = client.get("/api/incidents/").json()
    holdings = client.get(f"/api/incidents/{mine.code}/holdings/")
    foreign = client.get(f"/api/incidents/{other.code}/holdings/")

    assert [i["code"] for i in listed] == [mine.code]
    assert holdings.status_code == 200
    assert holdings.json() == [
        {
            "symbol": "XEM",
            "quantity": "100.000000000000000000",
            "reference_price_jpy": "88.54900000",
            "price_source": "test composite",
            "value_jpy": 8854,
        }
    ]
    assert foreign.status_code == 404


def test_customer_without_a_linked_account_gets_404(api_as):
    incident = incident_with_snapshot()
    client = api_as(Role.CUSTOMER)
    assert client.get(f"/api/incidents/{incident.code}/holdings/").status_code == 404


def test_staff_pages_by_role(client):
    from tests.support.factories import PASSWORD, user_with_role

    incident_declare(code="page-1")
    for role, expected in [(Role.REVIEWER, 200), (Role.CUSTOMER, 403), (Role.REGULATOR, 403)]:
        user = user_with_role(role)
        if role == Role.REVIEWER:
            login_verified(client, user)
        else:
            client.login(username=user.username, password=PASSWORD)
        assert client.get("/staff/incidents/").status_code == expected
        assert client.get("/staff/incidents/page-1/").status_code == expected
        client.logout()
    assert client.get("/staff/incidents/").status_code == 302  # to the login page


def test_reviewer_cannot_open_the_declare_page(client):
    from tests.support.factories import user_with_role

    reviewer = user_with_role(Role.REVIEWER)
    login_verified(client, reviewer)
    assert client.get("/staff/incidents/new/").status_code == 403


def test_customer_factory_is_not_a_login():
    assert CustomerFactory().user is None
