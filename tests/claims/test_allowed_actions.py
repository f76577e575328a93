"""Actions that fit the state: one rule (claim_allowed_actions) for the page, the API and the services;
irreversible actions ask for confirmation with a summary first."""

from decimal import Decimal

import pytest
from django.db import transaction

from claims import services
from claims.models import Claim, ClaimBatch, Customer, Incident
from core.errors import ApplicationError
from core.roles import Role
from reserves.models import IncidentFund, ReserveFunding
from tests.support.factories import customer_user
from tests.support.login import login_verified, staff

pytestmark = pytest.mark.django_db

REFUSALS = {"invalid_transition", "forbidden", "four_eyes", "already_approved", "payout_missing"}


def _service_accepts(claim: Claim, user, action: str) -> bool:
    """Try the decision for real, then roll it back: True unless a state/role rule refused it."""
    claim = Claim.objects.get(pk=claim.pk)
    lines = [services.LineAdjustment("BTC", Decimal("0.2"))]
    savepoint = transaction.savepoint()  # a bare savepoint: the services' durable blocks still run
    try:
        services.claim_decide(actor=user, claim=claim, action=action, reason="because", adjustments=lines)
    except ApplicationError as exc:
        assert exc.code in REFUSALS, (exc.code, action, exc.detail, getattr(exc, "extra", None))
        return False
    finally:
        transaction.savepoint_rollback(savepoint)
    return True


def _in_state(claim: Claim, state: str, reviewer, approver) -> Claim:
    if state in ("under_review", "recommended", "approved"):
        services.claim_verify(actor=reviewer, claim=claim)
    if state == "info_requested":
        services.claim_info_request(actor=reviewer, claim=claim, message="Send a statement.")
    if state in ("recommended", "approved"):
        services.claim_recommend(actor=reviewer, claim=claim)
    if state == "approved":
        services.claim_approve(actor=approver, claim=claim)
    if state == "rejected":
        services.claim_reject(actor=reviewer, claim=claim, reason="not ours")
    claim.refresh_from_db()
    assert claim.status == state
    return claim


STATES = ["submitted", "under_review", "info_requested", "recommended", "approved", "rejected"]


@pytest.mark.parametrize("state", STATES)
def test_what_the_rule_offers_is_exactly_what_the_services_accept(claim, state):
    maker, approver, other_approver = staff(Role.REVIEWER), staff(Role.APPROVER), staff(Role.APPROVER)
    claim = _in_state(claim, state, maker, approver)
    for user in (maker, approver, other_approver):
        offered = services.claim_allowed_actions(claim, user)
        accepted = [action for action in services.DECISIONS if _service_accepts(claim, user, action)]
        assert offered == accepted, (state, user.username)
    if state in ("approved", "rejected"):
        assert services.claim_allowed_actions(claim, other_approver) == []
    if state == "recommended":
        assert "approve" in services.claim_allowed_actions(claim, other_approver)
        assert "approve" not in services.claim_allowed_actions(claim, maker)


def test_a_decided_claim_offers_no_decision_on_the_page_or_in_the_api(client, api_as, claim):
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
    approver = staff(Role.APPROVER)
    login_verified(client, approver)
    page = client.get(f"/staff/claims/{claim.ref}/").content.decode()
    assert 'data-testid="no-actions"' in page
    for action in services.DECISIONS:
        assert f'value="{action}"' not in page
    assert 'name="approved_XEM"' not in page  # quantities are no longer editable
    assert api_as(approver).get(f"/api/staff/claims/{claim.ref}/").json()["allowed_actions"] == []


def test_a_submitted_claim_offers_the_reviewers_steps_but_not_approval(client, api_as, claim):
    reviewer = staff(Role.REVIEWER)
    login_verified(client, reviewer)
    page = client.get(f"/staff/claims/{claim.ref}/").content.decode()
    for action in ("verify", "adjust", "request_info", "recommend", "reject"):
        assert f'value="{action}"' in page
    assert 'value="approve"' not in page
    body = api_as(reviewer).get(f"/api/staff/claims/{claim.ref}/").json()
    assert body["allowed_actions"] == ["verify", "adjust", "request_info", "recommend", "reject"]


def test_the_approvals_counter_shows_the_requirement_before_anyone_recommends(client, api_as, claim, settings):
    settings.CLAIM_SECOND_APPROVER_THRESHOLD_JPY = 1_000_000  # Sato's ¥3,838,593 needs two approvers
    reviewer = staff(Role.REVIEWER)
    login_verified(client, reviewer)
    page = client.get(f"/staff/claims/{claim.ref}/").content.decode()
    assert 'data-testid="approvals">0 / 2' in page
    assert api_as(reviewer).get(f"/api/staff/claims/{claim.ref}/").json()["required_approvals"] == 2


def test_approve_asks_first_with_a_summary_and_only_the_confirmation_approves(client, claim):
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    login_verified(client, staff(Role.APPROVER))
    asked = client.post(f"/staff/claims/{claim.ref}/", {"action": "approve", "reason": ""})
    assert asked.status_code == 200
    text = asked.content.decode()
    assert 'data-testid="confirm"' in text and claim.ref in text and "3,838,593" in text
    assert 'name="confirmed" value="1"' in text and 'name="action" value="approve"' in text
    assert Claim.objects.get(pk=claim.pk).status == "recommended"  # nothing happened yet

    client.post(f"/staff/claims/{claim.ref}/", {"action": "approve", "reason": "", "confirmed": "1"})
    assert Claim.objects.get(pk=claim.pk).status == "approved"


def test_reject_asks_first_and_repeats_the_reason_the_customer_will_read(client, claim):
    login_verified(client, staff(Role.REVIEWER))
    asked = client.post(f"/staff/claims/{claim.ref}/", {"action": "reject", "reason": "Not a customer at the time"})
    assert "Not a customer at the time" in asked.content.decode()
    assert Claim.objects.get(pk=claim.pk).status == "submitted"
    client.post(
        f"/staff/claims/{claim.ref}/", {"action": "reject", "reason": "Not a customer at the time", "confirmed": "1"}
    )
    assert Claim.objects.get(pk=claim.pk).status == "rejected"


def test_verify_is_taken_at_once_without_a_confirmation(client, claim):
    login_verified(client, staff(Role.REVIEWER))
    response = client.post(f"/staff/claims/{claim.ref}/", {"action": "verify", "reason": ""})
    assert response.status_code == 302
    assert Claim.objects.get(pk=claim.pk).status == "under_review"


def test_batch_approval_asks_first(client, incident, claim):
    maker = staff(Role.APPROVER)
    batch = services.claim_batch_create(actor=maker, incident=incident, amount_ceiling_jpy=None, reason="matches")
    login_verified(client, staff(Role.APPROVER))
    listing = client.get("/staff/claims/batches/").content.decode()
    assert f'data-testid="approve-batch-{batch.pk}"' in listing
    asked = client.post(f"/staff/claims/batches/{batch.pk}/approve/")
    assert asked.status_code == 200 and 'data-testid="confirm-summary"' in asked.content.decode()
    assert ClaimBatch.objects.get(pk=batch.pk).status == "proposed"
    client.post(f"/staff/claims/batches/{batch.pk}/approve/", {"confirmed": "1"})
    assert ClaimBatch.objects.get(pk=batch.pk).status == "approved"
    assert f'data-testid="approve-batch-{batch.pk}"' not in client.get("/staff/claims/batches/").content.decode()


def test_the_maker_of_a_batch_is_offered_no_approval(client, incident, claim):
    maker = staff(Role.APPROVER)
    batch = services.claim_batch_create(actor=maker, incident=incident, amount_ceiling_jpy=None, reason="matches")
    assert services.batch_allowed_actions(batch, maker) == []
    login_verified(client, maker)
    assert f'data-testid="approve-batch-{batch.pk}"' not in client.get("/staff/claims/batches/").content.decode()


def test_holding_payouts_and_closing_an_incident_ask_first(client, incident):
    login_verified(client, staff(Role.APPROVER))
    fund = IncidentFund.objects.get(incident_code=incident.code)
    asked = client.post(f"/staff/funds/{incident.code}/hold/", {"reason": "bank outage"})
    assert asked.status_code == 200 and "bank outage" in asked.content.decode()
    assert not IncidentFund.objects.get(pk=fund.pk).on_hold
    client.post(f"/staff/funds/{incident.code}/hold/", {"reason": "bank outage", "confirmed": "1"})
    assert IncidentFund.objects.get(pk=fund.pk).on_hold

    asked = client.post(f"/staff/incidents/{incident.code}/transition/", {"to": "closed", "reason": "window over"})
    assert asked.status_code == 200 and 'data-testid="confirm"' in asked.content.decode()
    assert Incident.objects.get(pk=incident.pk).status == "open"
    client.post(f"/staff/incidents/{incident.code}/transition/", {"to": "closed", "reason": "x", "confirmed": "1"})
    assert Incident.objects.get(pk=incident.pk).status == "closed"


def test_funding_approval_asks_first_and_the_maker_is_offered_nothing(client):
    maker = staff(Role.APPROVER)
    login_verified(client, maker)
    client.post("/staff/reserve/fundings/", {"kind": "funding", "amount_jpy": "1000", "reference": "R-1"})
    funding = ReserveFunding.objects.get()
    assert f'data-testid="approve-{funding.pk}"' not in client.get("/staff/reserve/").content.decode()

    client.logout()
    login_verified(client, staff(Role.APPROVER))
    assert f'data-testid="approve-{funding.pk}"' in client.get("/staff/reserve/").content.decode()
    asked = client.post(f"/staff/reserve/fundings/{funding.pk}/approve/")
    assert asked.status_code == 200 and "R-1" in asked.content.decode()
    assert ReserveFunding.objects.get().status == "requested"
    client.post(f"/staff/reserve/fundings/{funding.pk}/approve/", {"confirmed": "1"})
    assert ReserveFunding.objects.get().status == "approved"


def test_the_customer_sees_decided_quantities_only_once_decided(client, claim):
    client.force_login(customer_user(Customer.objects.get(account_id="ACC-1")))
    before = client.get(f"/claims/{claim.ref}/").content.decode()
    assert 'data-testid="not-decided"' in before and 'data-testid="decided-XEM"' not in before
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
    after = client.get(f"/claims/{claim.ref}/").content.decode()
    assert 'data-testid="decided-XEM"' in after and 'data-testid="not-decided"' not in after


def test_the_customer_api_gives_decided_quantities_only_once_decided(api_as, claim):
    client = api_as(customer_user(Customer.objects.get(account_id="ACC-1")))
    before = client.get(f"/api/claims/{claim.ref}/").json()
    assert before["approved_amount_jpy"] is None
    assert all(line["decided_quantity"] is None for line in before["lines"])
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
    after = client.get(f"/api/claims/{claim.ref}/").json()
    assert {line["asset"]: line["decided_quantity"] for line in after["lines"]} == {
        "BTC": "0.250000000000000000",
        "XEM": "1000.500000000000000000",
    }
