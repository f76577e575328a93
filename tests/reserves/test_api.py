"""The staff API of reserves: fundings (maker and checker), policies, funds, payouts, recoveries."""

import pytest

from core.roles import Role
from reserves.models import IncidentFund, Payout, RecoveryClaim, ReserveFunding
from tests.support.factories import user_with_role
from tests.support.money import fund_open, policy, register, reserve_fund

pytestmark = pytest.mark.django_db
FUNDING = {"kind": "funding", "amount_jpy": 3_000_000_000, "reference": "MUFG-2026-0001"}


def test_maker_requests_and_a_second_approver_approves(api_as):
    maker, checker = api_as(Role.APPROVER), api_as(Role.APPROVER)
    created = maker.post("/api/staff/reserve/fundings/", FUNDING, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert created.status_code == 201, created.json()
    funding_id = created.json()["id"]

    replay = maker.post("/api/staff/reserve/fundings/", FUNDING, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert replay.status_code == 200 and replay.json()["id"] == funding_id

    self_approval = maker.post(f"/api/staff/reserve/fundings/{funding_id}/approve/")
    assert self_approval.status_code == 403
    assert self_approval.json()["error"] == "four_eyes"

    approved = checker.post(f"/api/staff/reserve/fundings/{funding_id}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    again = checker.post(f"/api/staff/reserve/fundings/{funding_id}/approve/")
    assert again.status_code == 409

    position = checker.get("/api/staff/reserve/").json()
    assert position["balance_jpy"] == 3_000_000_000 and position["below_minimum"] is False
    listed = checker.get("/api/staff/reserve/fundings/?status=approved").json()
    assert [f["id"] for f in listed["results"]] == [funding_id]


def test_a_reused_key_with_another_body_is_409_and_bad_input_is_400(api_as):
    maker = api_as(Role.ADMIN)
    maker.post("/api/staff/reserve/fundings/", FUNDING, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    conflict = maker.post(
        "/api/staff/reserve/fundings/", {**FUNDING, "amount_jpy": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k2"
    )
    assert conflict.status_code == 409 and conflict.json()["error"] == "idempotency_key_reused"
    bad = maker.post("/api/staff/reserve/fundings/", {**FUNDING, "amount_jpy": -5}, format="json")
    assert bad.status_code == 400 and "amount_jpy" in bad.json()["fields"]
    assert ReserveFunding.objects.count() == 1


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.CUSTOMER, Role.REGULATOR])
def test_other_roles_cannot_fund_or_approve(api_as, role):
    client = api_as(role)
    assert client.post("/api/staff/reserve/fundings/", FUNDING, format="json").status_code == 403
    assert client.post("/api/staff/policies/", {}, format="json").status_code == 403
    assert client.post("/api/staff/payouts/retry/", {"payout_ids": [1]}, format="json").status_code == 403


def test_anonymous_is_401(api):
    assert api.get("/api/staff/reserve/").status_code in (401, 403)
    assert api.get("/api/staff/reserve/").json()["error"] in ("not_authenticated", "authentication_failed")


def test_policies_register_and_list(api_as):
    client = api_as(Role.APPROVER)
    body = {
        "insurer": "Tokio Demo Marine",
        "policy_number": "TDM-CYB-01",
        "period_start": "2026-01-01T00:00:00+09:00",
        "period_end": "2027-01-01T00:00:00+09:00",
        "layer_order": 1,
        "retention_jpy": 500_000_000,
        "per_occurrence_limit_jpy": 3_000_000_000,
        "aggregate_limit_jpy": 5_000_000_000,
        "coinsurance_share": "0.9000",
        "exclusions": "Insider fraud; war.",
    }
    created = client.post("/api/staff/policies/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["coinsurance_share"] == "0.9000"
    assert client.post("/api/staff/policies/", body, format="json").status_code == 409
    invalid = client.post(
        "/api/staff/policies/", {**body, "policy_number": "X2", "aggregate_limit_jpy": 1}, format="json"
    )
    assert invalid.status_code == 400 and "aggregate_limit_jpy" in invalid.json()["fields"]
    assert [p["policy_number"] for p in api_as(Role.REVIEWER).get("/api/staff/policies/").json()["results"]] == [
        "TDM-CYB-01"
    ]


def test_fund_payouts_retry_and_recovery_settlement(api_as, settings, django_capture_on_commit_callbacks):
    settings.SANDBOX_RAIL_FAILURE_RATE = 1.0
    settings.PAYOUT_MAX_ATTEMPTS = 1
    reserve_fund(1_000)
    policy("INS-1", per_occurrence_limit_jpy=1_000, aggregate_limit_jpy=1_000)
    fund = fund_open("api-inc")
    with django_capture_on_commit_callbacks(execute=True):
        register(fund, {"A-1": 1_500})
    client = api_as(Role.APPROVER)

    summary = client.get("/api/staff/funds/api-inc/").json()
    assert summary["planned_rate"] == "1.0000000000" and summary["paid_rate"] == "0.6666666666"
    assert [s["key"] for s in summary["sources"]] == ["reserve", "policy:INS-1"]
    failed = client.get("/api/staff/payouts/?incident=api-inc&status=failed").json()["results"]
    assert [p["claim_ref"] for p in failed] == ["A-1"]

    settings.SANDBOX_RAIL_FAILURE_RATE = 0.0
    with django_capture_on_commit_callbacks(execute=True):
        retried = client.post("/api/staff/payouts/retry/", {"payout_ids": [failed[0]["id"]]}, format="json")
    assert retried.status_code == 200
    assert Payout.objects.get().status == "paid"

    recovery = RecoveryClaim.objects.get()
    proof_first = client.post(f"/api/staff/recoveries/{recovery.pk}/proof/", {"evidence": "PoL-1"}, format="json")
    assert proof_first.status_code == 422 and proof_first.json()["missing"] == ["notice"]
    early = client.post(
        f"/api/staff/recoveries/{recovery.pk}/settle/", {"amount_jpy": 500, "reference": "INS-PAY-0"}, format="json"
    )
    assert early.status_code == 422 and early.json()["error"] == "recovery_step_missing"
    assert early.json()["missing"] == ["notice", "proof_of_loss"]
    no_evidence = client.post(f"/api/staff/recoveries/{recovery.pk}/notice/")
    assert no_evidence.status_code == 400 and "evidence" in no_evidence.json()["fields"]
    notice = client.post(f"/api/staff/recoveries/{recovery.pk}/notice/", {"evidence": "Letter 1"}, format="json")
    assert notice.json()["status"] == "notified" and notice.json()["missing_steps"] == ["proof_of_loss"]
    early = client.post(
        f"/api/staff/recoveries/{recovery.pk}/settle/", {"amount_jpy": 500, "reference": "INS-PAY-0"}, format="json"
    )
    assert early.status_code == 422 and early.json()["missing"] == ["proof_of_loss"]
    proof = client.post(f"/api/staff/recoveries/{recovery.pk}/proof/", {"evidence": "PoL-1"}, format="json")
    assert proof.json()["proof_evidence"] == "PoL-1" and proof.json()["missing_steps"] == []
    with django_capture_on_commit_callbacks(execute=True):
        settled = client.post(
            f"/api/staff/recoveries/{recovery.pk}/settle/", {"amount_jpy": 500, "reference": "INS-PAY-1"}, format="json"
        )
    assert settled.status_code == 200 and settled.json()["settled_jpy"] == 500
    over = client.post(
        f"/api/staff/recoveries/{recovery.pk}/settle/", {"amount_jpy": 600, "reference": "INS-PAY-2"}, format="json"
    )
    assert over.status_code == 422 and over.json()["error"] == "over_settlement"
    assert sum(Payout.objects.filter(status="paid").values_list("amount_jpy", flat=True)) == 1_500
    assert client.get("/api/staff/funds/nope/").status_code == 404


def test_the_schema_documents_the_paths(api_as):
    schema = api_as(Role.ADMIN).get("/api/schema/?format=json").json()
    assert {"/api/staff/reserve/fundings/", "/api/staff/policies/", "/api/staff/payouts/"} <= set(schema["paths"])


def test_reviewers_see_payouts_but_cannot_retry(api_as):
    user = user_with_role(Role.REVIEWER)
    client = api_as(user)
    assert client.get("/api/staff/payouts/").status_code == 200
    assert client.post("/api/staff/payouts/retry/", {"payout_ids": [1]}, format="json").status_code == 403


def test_fund_settings_through_the_api_until_the_first_payout(api_as, django_capture_on_commit_callbacks):
    reserve_fund(1_000)
    fund_open("api-set")
    client = api_as(Role.APPROVER)
    assert client.get("/api/staff/funds/api-set/settings/").json() == {
        "base_amount_jpy": 0,
        "expected_loss_jpy": 0,
        "expected_claimants": 0,
        "on_hold": False,
        "settings_fixed": False,
    }
    body = {"base_amount_jpy": 100, "expected_loss_jpy": 4_000, "expected_claimants": 4}
    saved = client.post("/api/staff/funds/api-set/settings/", body, format="json")
    assert saved.status_code == 200 and saved.json()["expected_claimants"] == 4
    assert not IncidentFund.objects.get(incident_code="api-set").allocations.exists()  # no empty round
    bad = client.post("/api/staff/funds/api-set/settings/", {"base_amount_jpy": -1}, format="json")
    assert bad.status_code == 400 and "base_amount_jpy" in bad.json()["fields"]
    assert api_as(Role.REVIEWER).post("/api/staff/funds/api-set/settings/", body, format="json").status_code == 403

    with django_capture_on_commit_callbacks(execute=True):
        register(IncidentFund.objects.get(incident_code="api-set"), {"SET-1": 1_000})
    assert Payout.objects.filter(claim_ref="SET-1").exists()
    fixed = client.post("/api/staff/funds/api-set/settings/", {"base_amount_jpy": 0}, format="json")
    assert fixed.status_code == 422 and fixed.json()["error"] == "payments_started"
    held = client.post("/api/staff/funds/api-set/settings/", {"on_hold": True, "reason": "screening"}, format="json")
    assert held.json()["on_hold"] is True and held.json()["settings_fixed"] is True
    assert client.get("/api/staff/funds/nope/settings/").status_code == 404
