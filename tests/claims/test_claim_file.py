"""Filing a claim through the API: idempotency, one active claim, the window, bad input."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from audit.models import Event
from claims import services
from claims.models import Claim, ClaimLine, Customer, Incident, PayoutChoice
from core.roles import Role
from tests.support.factories import BANK_PAYOUT, TEST_ACTOR, customer_user, incident_with_snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def sato(incident, api_as):
    customer = Customer.objects.get(account_id="ACC-1")
    return api_as(customer_user(customer))


def _file(client, body: dict, key: str = "k-1"):
    return client.post("/api/claims/", body, format="json", headers={"Idempotency-Key": key})


def _body(incident, **overrides):
    return {"incident": incident.code, "payout": BANK_PAYOUT, **overrides}


def test_accepting_the_snapshot_files_a_claim_with_every_holding(sato, incident):
    response = _file(sato, _body(incident))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "submitted"
    assert body["disputed"] is False and body["matches_snapshot"] is True
    assert [line["asset"] for line in body["lines"]] == ["BTC", "XEM"]
    # 0.25 BTC x 15,000,000 + 1000.5 XEM x 88.549 = 3,750,000 + 88,593 (88,593.2745 truncated)
    assert body["amount_jpy"] == 3_750_000 + 88_593
    assert body["payout"]["account_number"] == "****567"
    assert body["payout"]["holder_name_kana"] == "ｻﾄｳ ﾊﾙﾄ"
    assert body["timeline"][0]["status"] == "submitted"
    assert Event.objects.filter(action="claim.filed", subject_id=str(Claim.objects.get().pk)).exists()
    assert "1234567" not in str(Event.objects.get(action="claim.filed").data)


def test_same_key_same_body_returns_the_first_claim(sato, incident):
    first = _file(sato, _body(incident))
    second = _file(sato, _body(incident))

    assert second.status_code == 200
    assert second.json()["ref"] == first.json()["ref"]
    assert Claim.objects.count() == 1


def test_same_key_different_body_is_409(sato, incident):
    _file(sato, _body(incident))
    lines = [{"asset": "XEM", "claimed_quantity": "2000", "reason": "I bought more that morning"}]
    response = _file(sato, _body(incident, lines=lines))

    assert response.status_code == 409
    assert response.json()["error"] == "idempotency_key_reused"
    assert Claim.objects.count() == 1


def test_second_active_claim_for_the_incident_is_409(sato, incident):
    first = _file(sato, _body(incident), key="a")
    response = _file(sato, _body(incident), key="b")

    assert response.status_code == 409
    assert response.json()["error"] == "claim_exists"
    assert first.json()["ref"] in response.json()["detail"]


def test_missing_idempotency_key_is_400(sato, incident):
    response = sato.post("/api/claims/", _body(incident), format="json")
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["fields"]


def test_outside_the_window_is_422_with_the_window(api_as):
    incident = incident_with_snapshot(open_it=False)
    services.incident_transition(actor=TEST_ACTOR, incident=incident, to_status="open")
    Incident.objects.filter(pk=incident.pk).update(
        claim_opens_at=timezone.now() + dt.timedelta(days=1), claim_closes_at=timezone.now() + dt.timedelta(days=5)
    )
    incident.refresh_from_db()
    client = api_as(customer_user(Customer.objects.get(account_id="ACC-1")))

    response = _file(client, _body(incident))

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "outside_claim_window"
    opens = timezone.localtime(incident.claim_opens_at).strftime("%Y-%m-%d %H:%M")
    assert opens in body["detail"]
    assert not Claim.objects.exists()


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"asset": "DOGE", "claimed_quantity": "1"}, "lines[0].asset"),
        ({"asset": "XEM", "claimed_quantity": "-1", "reason": "x"}, "lines[0].claimed_quantity"),
        ({"asset": "XEM", "claimed_quantity": "abc", "reason": "x"}, "lines[0].claimed_quantity"),
        ({"asset": "XEM", "claimed_quantity": "1.0000000000000000001", "reason": "x"}, "lines[0].claimed_quantity"),
        ({"asset": "XEM", "claimed_quantity": "999999999", "reason": "x"}, "lines[0].claimed_quantity"),
        ({"asset": "XEM", "claimed_quantity": "5"}, "lines[0].reason"),
    ],
)
def test_bad_lines_are_400_naming_the_field(sato, incident, line, field):
    response = _file(sato, _body(incident, lines=[line]))

    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]
    assert not Claim.objects.exists() and not ClaimLine.objects.exists() and not PayoutChoice.objects.exists()


@pytest.mark.parametrize(
    ("payout", "field"),
    [
        ({**BANK_PAYOUT, "bank_code": "9998"}, "payout.bank_code"),
        ({**BANK_PAYOUT, "branch_code": "999"}, "payout.branch_code"),
        ({**BANK_PAYOUT, "account_number": "12345"}, "payout.account_number"),
        ({**BANK_PAYOUT, "holder_name": "佐藤 陽翔"}, "payout.holder_name"),
        ({**BANK_PAYOUT, "account_type": "9"}, "payout.account_type"),
        ({"method": "cash"}, "payout.method"),
    ],
)
def test_bad_payout_is_400_naming_the_field(sato, incident, payout, field):
    response = _file(sato, _body(incident, payout=payout))

    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]
    assert not Claim.objects.exists()


def test_wrong_types_are_400(sato, incident):
    response = _file(sato, {"incident": incident.code, "lines": "all", "payout": BANK_PAYOUT})
    assert response.status_code == 400
    assert "lines" in response.json()["fields"]


def test_disputed_line_keeps_the_snapshot_beside_the_claim(sato, incident):
    lines = [{"asset": "XEM", "claimed_quantity": "999", "reason": "withdrawal at 09:58 was not mine"}]
    body = _file(sato, _body(incident, lines=lines)).json()

    xem = next(line for line in body["lines"] if line["asset"] == "XEM")
    assert Decimal(xem["snapshot_quantity"]) == Decimal("1000.5")
    assert Decimal(xem["claimed_quantity"]) == Decimal("999")
    assert body["disputed"] is True and body["matches_snapshot"] is False


def test_in_kind_needs_the_incident_to_allow_it(sato, incident):
    payout = {"method": "in_kind", "addresses": {"XEM": "NBZMQO7ZPBYNBDUR7F75MAKA2S3DHDCIFG775N3D"}}
    response = _file(sato, _body(incident, payout=payout))
    assert response.status_code == 422
    assert response.json()["error"] == "in_kind_not_allowed"

    Incident.objects.filter(pk=incident.pk).update(allows_in_kind=True)
    response = _file(sato, _body(incident, payout=payout), key="k-2")
    assert response.status_code == 201, response.json()
    assert response.json()["payout"]["addresses"] == payout["addresses"]


def test_customer_not_affected_gets_404(api_as, incident):
    stranger = Customer.objects.create(account_id="ACC-9", name="N", email="n@example.jp")
    response = _file(api_as(customer_user(stranger)), _body(incident))
    assert response.status_code == 404


def test_staff_cannot_file(api_as, incident):
    assert _file(api_as(Role.REVIEWER), _body(incident)).status_code == 403


def test_customer_with_an_extra_asset_may_claim_it_as_disputed(api_as):
    incident = incident_with_snapshot([("ACC-5", "Kato", "kato@example.jp", "XEM", "10")])
    client = api_as(customer_user(Customer.objects.get(account_id="ACC-5")))
    lines = [{"asset": "BTC", "claimed_quantity": "0.1", "reason": "BTC was in the hot wallet too"}]

    body = _file(client, _body(incident, lines=lines)).json()

    btc = next(line for line in body["lines"] if line["asset"] == "BTC")
    assert Decimal(btc["snapshot_quantity"]) == 0
    assert body["disputed"] is True


@pytest.mark.postgres  # the bound is PostgreSQL's (bulk inserts in one statement); SQLite needs more
def test_filing_costs_a_bounded_number_of_statements_and_takes_the_trail_lock_last(
    incident, django_assert_max_num_queries
):
    """Launch day files hundreds of claims a second: every statement counts (issue 14; ~50 with the token once, 30
    before the fund was looked up only when missing and a clean name check stopped updating the new choice).

    The audit trail's head lock is held from the first event to commit and every writer queues on it, so
    the filing writes its rows first and its two events (holdback, claim) at the very end.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    user = customer_user(Customer.objects.get(account_id="ACC-1"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    with django_assert_max_num_queries(26), CaptureQueriesContext(connection) as captured:
        response = _file(client, _body(incident))
    assert response.status_code == 201, response.json()
    statements = [q["sql"] for q in captured.captured_queries]
    first_head_lock = next(i for i, sql in enumerate(statements) if "audit_treehead" in sql)
    after = statements[first_head_lock:]
    assert not any(sql.startswith(('INSERT INTO "claims_', 'UPDATE "claims_')) for sql in after)
    assert Event.objects.filter(action="claim.filed", subject_id=str(Claim.objects.get().pk)).count() == 1


@pytest.mark.parametrize("lines", [None, "dispute"])
def test_the_201_answer_is_what_reading_the_claim_back_gives(sato, incident, lines):
    """The filing answers from what it just wrote (no re-read): it must be exactly the stored claim."""
    body = _body(incident)
    if lines:
        body["lines"] = [{"asset": "BTC", "claimed_quantity": "0.3", "reason": "a deposit the snapshot missed"}]
    filed = _file(sato, body)
    assert filed.status_code == 201, filed.json()
    again = sato.get(f"/api/claims/{filed.json()['ref']}/")
    assert again.status_code == 200
    assert filed.json() == again.json()


def test_an_incident_opened_before_funds_opened_with_it_gets_its_fund_at_the_first_filing(api_as):
    from reserves.models import Holdback, IncidentFund

    incident = incident_with_snapshot(open_it=False)
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.OPEN)  # no fund: older data
    assert not IncidentFund.objects.filter(incident_code=incident.code).exists()
    sato = api_as(customer_user(Customer.objects.get(account_id="ACC-1")))

    response = _file(sato, _body(incident))

    assert response.status_code == 201, response.json()
    fund = IncidentFund.objects.get(incident_code=incident.code)
    assert list(Holdback.objects.filter(fund=fund).values_list("claim_ref", flat=True)) == [response.json()["ref"]]
