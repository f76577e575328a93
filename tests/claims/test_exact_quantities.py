"""Quantities are parsed exactly, through the API (raw JSON bodies) and the pages, at filing and at adjustment.

A JSON number is read as a Decimal with the digits sent: `0.123456789012345678` is stored as such, never as the
float 0.12345678901234568. More than 18 decimal places, NaN, Infinity and exponents out of range are a 400 naming
the field, whether sent as a number or a string.
"""

import json
from decimal import Decimal

import pytest

from claims.models import Claim, ClaimAction, ClaimLine, Customer
from core.roles import Role
from tests.support.factories import BANK_PAYOUT, PASSWORD, customer_user
from tests.support.login import login_verified, staff

pytestmark = pytest.mark.django_db
# The exact 18 places are PostgreSQL's numeric(38,18); SQLite (the embedded demo) keeps 15 significant digits.
exact_storage = pytest.mark.postgres

EXACT = "0.123456789012345678"  # 18 places: a float would make it 0.12345678901234568
NINETEEN = "0.1234567890123456789"
# Sent as they are (numbers, not strings) and as strings; each must be a 400 naming the field.
BAD_NUMBERS = [NINETEEN, "NaN", "Infinity", "-Infinity", "1e999999999999999999999", "1e-999999999999999999999", "1e400"]


@pytest.fixture
def sato(incident, api_as):
    return api_as(customer_user(Customer.objects.get(account_id="ACC-1")))


def _raw_line(quantity_text: str, *, as_string: bool) -> str:
    quantity = json.dumps(quantity_text) if as_string else quantity_text
    return '{"asset": "BTC", "claimed_quantity": ' + quantity + ', "reason": "withdrawn before the hack"}'


def _file_raw(client, incident, line: str, key: str = "exact-1"):
    body = f'{{"incident": {json.dumps(incident.code)}, "payout": {json.dumps(BANK_PAYOUT)}, "lines": [{line}]}}'
    return client.generic(
        "POST", "/api/claims/", body, content_type="application/json", headers={"Idempotency-Key": key}
    )


@exact_storage
def test_a_bare_json_number_is_filed_exactly(sato, incident):
    response = _file_raw(sato, incident, _raw_line(EXACT, as_string=False))

    assert response.status_code == 201, response.json()
    stored = ClaimLine.objects.get(asset__symbol="BTC").claimed_quantity
    assert stored == Decimal(EXACT)
    assert str(stored.normalize()) == EXACT
    btc = next(line for line in response.json()["lines"] if line["asset"] == "BTC")
    assert btc["claimed_quantity"] == EXACT


@pytest.mark.parametrize("as_string", [False, True], ids=["number", "string"])
@pytest.mark.parametrize("text", BAD_NUMBERS)
def test_inexact_or_impossible_quantities_are_400_naming_the_field(sato, incident, text, as_string):
    response = _file_raw(sato, incident, _raw_line(text, as_string=as_string))

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "invalid"
    assert list(body["fields"]) == ["lines[0].claimed_quantity"], body
    assert all(isinstance(message, str) for message in body["fields"]["lines[0].claimed_quantity"])
    assert not Claim.objects.exists()


def _adjust_raw(client, claim, quantity_text: str, *, as_string: bool):
    quantity = json.dumps(quantity_text) if as_string else quantity_text
    body = '{"action": "adjust", "reason": "checked the ledger", "lines": [{"asset": "BTC", "approved_quantity": '
    return client.generic(
        "POST", f"/api/staff/claims/{claim.ref}/decision/", body + quantity + "}]}", content_type="application/json"
    )


@exact_storage
def test_a_staff_adjustment_sent_as_a_bare_number_is_exact(api_as, claim):
    response = _adjust_raw(api_as(staff(Role.REVIEWER)), claim, EXACT, as_string=False)

    assert response.status_code == 200, response.json()
    assert claim.lines.get(asset__symbol="BTC").approved_quantity == Decimal(EXACT)


@pytest.mark.parametrize("as_string", [False, True], ids=["number", "string"])
@pytest.mark.parametrize("text", BAD_NUMBERS)
def test_a_staff_adjustment_refuses_inexact_quantities_naming_the_field(api_as, claim, text, as_string):
    response = _adjust_raw(api_as(staff(Role.REVIEWER)), claim, text, as_string=as_string)

    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == ["lines[0].approved_quantity"]
    assert claim.lines.get(asset__symbol="BTC").approved_quantity == Decimal("0.25")
    assert not ClaimAction.objects.filter(kind="adjust").exists()


@pytest.mark.parametrize("text", BAD_NUMBERS)
def test_the_staff_page_refuses_inexact_adjustments(client, claim, text):
    login_verified(client, staff(Role.REVIEWER))
    response = client.post(
        f"/staff/claims/{claim.ref}/",
        {"action": "adjust", "reason": "checked the ledger", "approved_BTC": text},
        headers={"accept-language": "en"},
        follow=True,
    )

    assert response.status_code == 200
    assert claim.lines.get(asset__symbol="BTC").approved_quantity == Decimal("0.25")
    assert not ClaimAction.objects.filter(kind="adjust").exists()


@exact_storage
def test_the_staff_page_adjusts_exactly(client, claim):
    login_verified(client, staff(Role.REVIEWER))
    client.post(f"/staff/claims/{claim.ref}/", {"action": "adjust", "reason": "ledger", "approved_BTC": EXACT})
    assert claim.lines.get(asset__symbol="BTC").approved_quantity == Decimal(EXACT)


@pytest.mark.parametrize("text", BAD_NUMBERS)
def test_the_filing_page_refuses_inexact_quantities(client, incident, text):
    user = customer_user(Customer.objects.get(account_id="ACC-1"))
    client.login(username=user.username, password=PASSWORD)
    form = {"idempotency_key": "page-exact", "mode": "dispute", **BANK_PAYOUT, "qty_BTC": text, "reason_BTC": "x"}
    response = client.post(f"/claims/incidents/{incident.code}/", form, headers={"accept-language": "en"})

    assert response.status_code == 200
    assert not Claim.objects.exists()


@exact_storage
def test_the_filing_page_files_exactly(client, incident):
    user = customer_user(Customer.objects.get(account_id="ACC-1"))
    client.login(username=user.username, password=PASSWORD)
    form = {"idempotency_key": "page-exact", "mode": "dispute", **BANK_PAYOUT, "qty_BTC": EXACT, "reason_BTC": "x"}
    response = client.post(f"/claims/incidents/{incident.code}/", form)

    assert response.status_code == 302
    assert ClaimLine.objects.get(asset__symbol="BTC").claimed_quantity == Decimal(EXACT)
