"""The review queue: filters, sorting, search, pagination and counts per status."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from claims import services
from claims.models import Claim, Customer
from core.roles import Role
from tests.support.factories import PASSWORD, claim_file, customer_user, incident_with_snapshot
from tests.support.login import login_verified, staff

pytestmark = pytest.mark.django_db

ROWS = [
    ("ACC-1", "Sato", "sato@example.jp", "XEM", "100"),
    ("ACC-2", "Suzuki", "suzuki@example.jp", "XEM", "20"),
    ("ACC-3", "Kato", "kato@example.jp", "BTC", "0.5"),
    ("ACC-4", "Ito", "ito@example.jp", "XEM", "1"),
]


@pytest.fixture
def claims():
    incident = incident_with_snapshot(ROWS)
    customers = {c.account_id: c for c in Customer.objects.all()}
    made = {
        "sato": claim_file(customers["ACC-1"], incident),
        "suzuki": claim_file(
            customers["ACC-2"], incident, [services.ClaimLineInput("XEM", Decimal("30"), "deposit missing")]
        ),
        "kato": claim_file(customers["ACC-3"], incident),
        "ito": claim_file(customers["ACC-4"], incident),
    }
    services.claim_info_request(actor=staff(Role.REVIEWER), claim=made["kato"], message="Which wallet?")
    Claim.objects.filter(pk=made["ito"].pk).update(submitted_at=timezone.now() - dt.timedelta(days=10))
    return made


def _refs(response) -> list[str]:
    return [row["ref"] for row in response.json()["results"]]


def test_counts_per_status_and_status_filter(api_as, claims):
    client = api_as(Role.REVIEWER)
    body = client.get("/api/staff/claims/").json()
    assert body["count"] == 4
    assert body["counts"]["submitted"] == 3 and body["counts"]["info_requested"] == 1
    assert _refs(client.get("/api/staff/claims/?status=info_requested")) == [claims["kato"].ref]


def test_disputed_and_matching_filters(api_as, claims):
    client = api_as(Role.REVIEWER)
    assert _refs(client.get("/api/staff/claims/?disputed=true")) == [claims["suzuki"].ref]
    matching = set(_refs(client.get("/api/staff/claims/?matches_snapshot=true")))
    assert matching == {claims["sato"].ref, claims["kato"].ref, claims["ito"].ref}


def test_amount_range_and_age(api_as, claims):
    client = api_as(Role.REVIEWER)
    # sato 100 XEM = 8,854 yen; kato 0.5 BTC = 7,500,000 yen
    assert set(_refs(client.get("/api/staff/claims/?amount_min=8000&amount_max=10000"))) == {claims["sato"].ref}
    assert _refs(client.get("/api/staff/claims/?older_than_days=7")) == [claims["ito"].ref]
    assert claims["ito"].ref not in _refs(client.get("/api/staff/claims/?newer_than_days=7"))


def test_search_by_reference_or_account(api_as, claims):
    client = api_as(Role.REVIEWER)
    assert _refs(client.get(f"/api/staff/claims/?q={claims['sato'].ref.lower()}")) == [claims["sato"].ref]
    assert _refs(client.get("/api/staff/claims/?q=ACC-2")) == [claims["suzuki"].ref]


def test_sorting_and_pagination(api_as, claims):
    client = api_as(Role.REVIEWER)
    by_amount = _refs(client.get("/api/staff/claims/?sort=-amount"))
    assert by_amount[0] == claims["kato"].ref
    first = client.get("/api/staff/claims/?sort=-amount&page_size=3").json()
    assert _refs_of(first) == by_amount[:3] and first["next"]
    second = client.get(first["next"]).json()
    assert _refs_of(second) == by_amount[3:]


def _refs_of(body: dict) -> list[str]:
    return [row["ref"] for row in body["results"]]


def test_bad_filters_are_400(api_as, claims):
    client = api_as(Role.REVIEWER)
    assert client.get("/api/staff/claims/?status=lost", HTTP_ACCEPT_LANGUAGE="en").json()["fields"] == {
        "status": ["unknown status"]
    }
    assert client.get("/api/staff/claims/?amount_min=ten").status_code == 400
    assert client.get("/api/staff/claims/?sort=random").status_code == 400


def test_customers_cannot_see_the_queue(api_as, claims):
    assert api_as(Role.CUSTOMER).get("/api/staff/claims/").status_code == 403
    assert api_as(Role.REGULATOR).get("/api/staff/claims/").status_code == 403


def test_queue_page_filters_and_counts(client, claims):
    reviewer = staff(Role.REVIEWER)
    login_verified(client, reviewer)
    page = client.get("/staff/claims/?disputed=true", headers={"accept-language": "en"}).content.decode()
    assert claims["suzuki"].ref in page and claims["sato"].ref not in page
    assert 'data-status="info_requested"' in page


def test_claim_page_shows_snapshot_beside_claim_and_other_claims(client, claims):
    reviewer = staff(Role.REVIEWER)
    login_verified(client, reviewer)
    suzuki = claims["suzuki"]
    page = client.get(f"/staff/claims/{suzuki.ref}/", headers={"accept-language": "en"}).content.decode()
    assert "deposit missing" in page and ">20<" in page and ">30<" in page


def test_customer_user_is_not_staff(client, claims):
    user = customer_user(Customer.objects.get(account_id="ACC-1"))
    client.login(username=user.username, password=PASSWORD)
    assert client.get("/staff/claims/").status_code == 403


def test_queue_exports_the_filtered_claims_as_csv(client, claims):
    reviewer = staff(Role.REVIEWER)
    login_verified(client, reviewer)
    response = client.get("/staff/claims/?disputed=false&export=csv", HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Reference,Incident,Account,Status")
    assert sorted(line.split(",")[2] for line in lines[1:]) == ["ACC-1", "ACC-3", "ACC-4"]


def test_queue_and_claim_queries_do_not_grow_with_rows(api_as, claims, django_assert_max_num_queries):
    client = api_as(Role.REVIEWER)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get("/api/staff/claims/?page_size=1")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/api/staff/claims/?page_size=50")
    customer = claims["sato"].customer
    client = api_as(customer.user if customer.user else customer_user(customer))  # the login made beforehand
    with CaptureQueriesContext(connection) as detail:
        client.get(f"/api/claims/{claims['sato'].ref}/")
    assert len(detail.captured_queries) <= 15
