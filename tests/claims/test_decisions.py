"""Staff decisions through POST /api/staff/claims/{ref}/decision/."""

from decimal import Decimal

import pytest

from audit.models import Event
from claims.models import Claim, ClaimAction
from core.roles import Role
from tests.support.login import staff

pytestmark = pytest.mark.django_db


def _decide(client, claim, **body):
    return client.post(f"/api/staff/claims/{claim.ref}/decision/", body, format="json")


def test_verify_moves_to_review(api_as, claim):
    response = _decide(api_as(staff(Role.REVIEWER)), claim, action="verify")
    assert response.status_code == 200
    assert response.json()["status"] == "under_review"


def test_adjust_needs_a_reason_and_is_shown_to_the_customer(api_as, claim):
    client = api_as(staff(Role.REVIEWER))
    lines = [{"asset": "BTC", "approved_quantity": "0.2"}]
    missing = _decide(client, claim, action="adjust", lines=lines)
    assert missing.status_code == 400 and "reason" in missing.json()["fields"]

    response = _decide(client, claim, action="adjust", lines=lines, reason="0.05 BTC was withdrawn before")
    assert response.status_code == 200, response.json()
    body = response.json()
    btc = next(line for line in body["lines"] if line["asset"] == "BTC")
    assert Decimal(btc["approved_quantity"]) == Decimal("0.2")
    assert body["amount_jpy"] == 3_000_000 + 88_593
    assert body["matches_snapshot"] is False
    assert body["timeline"][-1]["note"] == "0.05 BTC was withdrawn before"
    event = Event.objects.filter(action="claim.adjust").get()
    assert event.data["reason"] == "0.05 BTC was withdrawn before"


def test_adjust_refuses_unknown_lines_and_negative_quantities(api_as, claim):
    client = api_as(staff(Role.REVIEWER))
    unknown = _decide(client, claim, action="adjust", reason="x", lines=[{"asset": "ETH", "approved_quantity": "1"}])
    assert unknown.status_code == 400 and "lines[0].asset" in unknown.json()["fields"]
    negative = _decide(client, claim, action="adjust", reason="x", lines=[{"asset": "BTC", "approved_quantity": "-1"}])
    assert negative.status_code == 400
    assert not ClaimAction.objects.exists()


def test_request_info_sends_the_message(api_as, claim):
    response = _decide(api_as(staff(Role.REVIEWER)), claim, action="request_info", reason="Upload your statement.")
    assert response.json()["status"] == "info_requested"
    assert response.json()["timeline"][-1]["note"] == "Upload your statement."
    assert _decide(api_as(staff(Role.REVIEWER)), claim, action="request_info").status_code == 400


def test_reject_needs_a_reason(api_as, claim):
    client = api_as(staff(Role.REVIEWER))
    assert _decide(client, claim, action="reject").status_code == 400
    response = _decide(client, claim, action="reject", reason="Not a customer at the base time.")
    assert response.json()["status"] == "rejected"
    assert Claim.objects.get().status == "rejected"


def test_recommend_then_approve_by_someone_else(api_as, claim, django_capture_on_commit_callbacks):
    assert _decide(api_as(staff(Role.REVIEWER)), claim, action="recommend").json()["status"] == "recommended"
    with django_capture_on_commit_callbacks(execute=True):
        response = _decide(api_as(staff(Role.APPROVER)), claim, action="approve")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "approved" and body["approved_amount_jpy"] == 3_838_593
    claim.incident.refresh_from_db()
    assert claim.incident.prices_locked_at is not None


def test_reviewer_cannot_approve(api_as, claim):
    _decide(api_as(staff(Role.REVIEWER)), claim, action="recommend")
    response = _decide(api_as(staff(Role.REVIEWER)), claim, action="approve")
    assert response.status_code == 403


def test_wrong_order_is_422(api_as, claim):
    response = _decide(api_as(staff(Role.APPROVER)), claim, action="approve")
    assert response.status_code == 422 and response.json()["error"] == "invalid_transition"


def test_unknown_claim_is_404(api_as):
    assert _decide(api_as(staff(Role.REVIEWER)), Claim(ref="C-NONE-0000"), action="verify").status_code == 404
