"""No bad request is a 500: each is a 4xx, `{"error", "detail"}` under /api/ and the site's error page elsewhere."""

import json
from urllib.parse import urlencode

import pytest
from django.test import override_settings

from claims.models import Claim, Customer
from core.roles import Role
from tests.support.factories import BANK_PAYOUT, PASSWORD, customer_user, incident_with_snapshot
from tests.support.login import login_verified, staff

pytestmark = pytest.mark.django_db


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code and isinstance(body["detail"], str), body
    return body


def _page(response, status: int) -> str:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


@pytest.fixture
def reviewer(api_as):
    return api_as(staff(Role.REVIEWER))


@pytest.fixture
def sato(api_as):
    incident = incident_with_snapshot()
    client = api_as(customer_user(Customer.objects.get(account_id="ACC-1")))
    client.incident = incident
    return client


def _file(client, body: str, **headers: str):
    return client.generic(
        "POST", "/api/claims/", body, content_type="application/json", headers={"Idempotency-Key": "bad-1", **headers}
    )


def _claim_body(incident, **payout: object) -> str:
    return json.dumps({"incident": incident.code, "payout": {**BANK_PAYOUT, **payout}})


# --- NUL bytes and lone surrogates ---------------------------------------------------------------


def test_nul_in_an_api_path_is_400_json(reviewer):
    body = _error(reviewer.get("/api/staff/claims/C-%00/", HTTP_ACCEPT_LANGUAGE="en"), 400, "invalid")
    assert body["fields"] == {"path": ["NUL or lone surrogate"]}


def test_nul_in_a_page_path_is_the_error_page(client):
    login_verified(client, staff(Role.REVIEWER))
    assert "<h1>" in _page(client.get("/staff/claims/C-%00/"), 400)


def test_nul_in_a_query_is_400_naming_the_parameter(reviewer):
    body = _error(reviewer.get("/api/staff/claims/?q=a%00b"), 400, "invalid")
    assert list(body["fields"]) == ["q"]


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_nul_in_a_page_form_is_the_error_page(client, content_type):
    login_verified(client, staff(Role.REVIEWER))
    data = {"incident": "x", "reason": "r\x00"}
    if content_type.startswith("multipart"):
        response = client.post("/staff/claims/batches/", data)
    else:
        response = client.post("/staff/claims/batches/", urlencode(data), content_type=content_type)
    _page(response, 400)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('"\\u0000"', "payout.holder_name"),
        ('"\\ud800"', "payout.holder_name"),
        ('"abc\\udfff"', "payout.holder_name"),
    ],
)
def test_nul_and_lone_surrogates_in_json_are_400_naming_the_field(sato, raw, field):
    body = _claim_body(sato.incident, holder_name="PLACEHOLDER").replace('"PLACEHOLDER"', raw)
    error = _error(_file(sato, body), 400, "invalid")
    assert list(error["fields"]) == [field]
    assert not Claim.objects.exists()


def test_a_lone_surrogate_in_a_dict_key_is_400(sato):
    body = _claim_body(sato.incident).replace('"method"', '"\\ud800x": "1", "method"')
    error = _error(_file(sato, body), 400, "invalid")
    assert list(error["fields"]) == ["payout"]


# --- Numbers, dates and nesting --------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "amount_min=99999999999999999999999",
        "amount_max=-1",
        "older_than_days=999999999",
        "newer_than_days=99999999999999999999",
        "amount_min=%C2%B2",  # "²" is a digit to str.isdigit(), not to int()
        "page=99999999999999999999999",
    ],
)
def test_out_of_range_integers_in_review_filters_are_4xx(reviewer, query):
    response = reviewer.get(f"/api/staff/claims/?{query}")
    assert response.status_code in (400, 404), (query, response.status_code)
    assert response.json()["error"] in ("invalid", "not_found")


@pytest.mark.parametrize(
    "query",
    [
        "created_since=9999-12-31T23:59:59-14:00",
        "created_until=0001-01-01T00:00:00%2B14:00",
        "paid_since=99999-01-01T00:00:00Z",
        "amount_min=99999999999999999999999",
        "amount_max=-99999999999999999999999",
    ],
)
def test_out_of_range_dates_and_integers_in_regulator_filters_are_400(api_as, query):
    response = api_as(Role.REGULATOR).get(f"/api/regulator/payouts/?{query}")
    _error(response, 400, "invalid")


@pytest.mark.parametrize("query", ["since=9999-12-31&until=9999-12-31", "since=0001-01-01", "until=0001-01-01"])
def test_out_of_range_dates_of_the_reserve_are_400(api_as, query):
    _error(api_as(Role.REGULATOR).get(f"/api/regulator/reserve/?{query}"), 400, "invalid")


@pytest.mark.parametrize(
    "query", ["since=9999-12-31T23:59:59-14:00", "until=0001-01-01T00:00:00%2B14:00", "subject_id=" + "x" * 65]
)
def test_out_of_range_values_in_audit_filters_are_400(api_as, query):
    _error(api_as(Role.REGULATOR).get(f"/api/regulator/audit/?{query}"), 400, "invalid")


def test_dates_before_1900_in_bodies_are_400_naming_the_field(api_as):
    """Found by schemathesis: a policy from year 141 was stored and answered in Tokyo's local mean time
    (+09:18:59), which is no RFC 3339 date-time."""
    body = {
        "insurer": "Tokio",
        "policy_number": "P-1",
        "period_start": "0141-12-14T23:15:29+11:56",
        "period_end": "9999-12-31T23:59:59-14:00",
        "layer_order": 1,
        "retention_jpy": 0,
        "per_occurrence_limit_jpy": 1,
        "aggregate_limit_jpy": 1,
    }
    error = _error(api_as(staff(Role.APPROVER)).post("/api/staff/policies/", body, format="json"), 400, "invalid")
    assert set(error["fields"]) == {"period_start", "period_end"}


@pytest.mark.parametrize("depth", [33, 100_000])
def test_json_nested_too_deep_is_400(sato, depth):
    body = '{"incident": "x", "payout": {}, "lines": ' + "[" * depth + "]" * depth + "}"
    error = _error(_file(sato, body, accept_language="en"), 400, "parse_error")
    assert "nested deeper than 32" in error["detail"]


def test_json_nested_within_the_limit_is_read(sato):
    body = '{"incident": "x", "payout": {}, "lines": ' + "[" * 20 + "]" * 20 + "}"
    assert _file(sato, body).status_code == 400  # read, then refused by the serializer: lines are objects
    assert _file(sato, body).json()["error"] == "invalid"


def test_a_huge_integer_is_400_naming_the_field(api_as):
    client = api_as(staff(Role.REVIEWER))
    body = '{"incident": "x", "amount_ceiling_jpy": 1' + "0" * 5000 + "}"
    error = _error(
        client.generic("POST", "/api/staff/claims/batches/", body, content_type="application/json"), 400, "invalid"
    )
    assert list(error["fields"]) == ["amount_ceiling_jpy"]


@pytest.mark.parametrize("value", ["99999999999999999999", "-1", "1.5", "1e3"])
def test_integers_of_json_bodies_are_bounded(api_as, value):
    body = '{"incident": "x", "amount_ceiling_jpy": ' + value + "}"
    client = api_as(staff(Role.REVIEWER))
    error = _error(
        client.generic("POST", "/api/staff/claims/batches/", body, content_type="application/json"), 400, "invalid"
    )
    assert "amount_ceiling_jpy" in error["fields"]


# --- Sizes and content types ---------------------------------------------------------------------


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_json_body_over_the_limit_is_413(sato):
    body = _claim_body(sato.incident, holder_name="x" * 2000)
    _error(_file(sato, body), 413, "request_too_large")
    assert not Claim.objects.exists()


@override_settings(REQUEST_MAX_BYTES=1000)
def test_any_body_over_the_request_limit_is_413(sato, client):
    _error(_file(sato, _claim_body(sato.incident, holder_name="x" * 2000)), 413, "request_too_large")
    user = customer_user(Customer.objects.get(account_id="ACC-2"))
    client.login(username=user.username, password=PASSWORD)
    _page(client.post("/claims/", {"x": "y" * 2000}), 413)


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_form_over_the_limit_is_413_on_pages(client):
    login_verified(client, staff(Role.REVIEWER))
    _page(client.post("/staff/claims/batches/", {"incident": "x", "reason": "y" * 2000}), 413)


def test_a_wrong_content_type_is_415(sato):
    response = sato.generic(
        "POST", "/api/claims/", "incident=x", content_type="text/plain", headers={"Idempotency-Key": "k"}
    )
    _error(response, 415, "unsupported_media_type")


def test_malformed_json_is_400(sato):
    _error(_file(sato, '{"incident": '), 400, "parse_error")
    _error(_file(sato, '{"incident": "x", "payout": {}}'.encode("utf-16").decode("latin-1")), 400, "parse_error")


# --- Authentication and the error body ----------------------------------------------------------


def test_anonymous_api_calls_are_401_with_www_authenticate(api):
    for path in ("/api/claims/", "/api/staff/claims/", "/api/regulator/incidents/"):
        response = api.get(path)
        _error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == "Token"


def test_a_bad_token_is_401(api):
    response = api.get("/api/claims/", headers={"Authorization": "Token not-a-token"})
    _error(response, 401, "authentication_failed")


def test_nested_errors_are_flat_field_names(sato):
    body = json.dumps(
        {
            "incident": sato.incident.code,
            "payout": {**BANK_PAYOUT, "addresses": {"BTC": "x" * 200}},
            "lines": [{"asset": "BTC", "claimed_quantity": "1"}, {"asset": "", "claimed_quantity": "-1"}],
        }
    )
    error = _error(_file(sato, body), 400, "invalid")
    assert set(error["fields"]) == {"lines[1].asset", "lines[1].claimed_quantity", "payout.addresses.BTC"}
    assert all(isinstance(m, str) for messages in error["fields"].values() for m in messages)


def test_a_receipt_with_a_non_integer_number_is_not_genuine_not_a_500(api):
    from audit import tlog

    document = {name: 1.5 for name in tlog.RECEIPT_SIGNED_FIELDS} | {
        "type": "audit.receipt",
        "signature": "AAAA",
        "key_id": "k",
        "receipt_id": "r",
        "audit_seq": 1,
    }
    response = api.post("/api/verify/receipt/", document, format="json")
    assert response.status_code == 200, response.content[:300]
    assert response.json()["ok"] is False
