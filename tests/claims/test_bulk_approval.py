"""Bulk approval: a maker's batch of exactly-matching claims, approved by a different checker."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from audit.log.verify import log_verify
from audit.models import Event
from claims import services
from claims.models import Claim, ClaimApproval, ClaimBatch, Customer
from core.errors import ApplicationError
from core.roles import Role
from reserves.models import Entitlement
from tests.support.factories import claim_file, incident_with_snapshot
from tests.support.login import staff

pytestmark = pytest.mark.django_db

ROWS = [
    ("ACC-1", "Sato", "sato@example.jp", "XEM", "100"),  # ¥8,854
    ("ACC-1", "Sato", "sato@example.jp", "BTC", "0.001"),  # ¥15,000
    ("ACC-2", "Suzuki", "suzuki@example.jp", "XEM", "20"),  # ¥1,770 — disputed below
    ("ACC-3", "Kato", "kato@example.jp", "BTC", "0.5"),  # ¥7,500,000
    ("ACC-4", "Ito", "ito@example.jp", "XEM", "1.5"),  # ¥132
    ("ACC-5", "Abe", "abe@example.jp", "BTC", "1"),  # ¥15,000,000 — above the threshold
]


@pytest.fixture
def incident():
    incident = incident_with_snapshot(ROWS)
    customers = {c.account_id: c for c in Customer.objects.all()}
    for account_id in ("ACC-1", "ACC-3", "ACC-4", "ACC-5"):
        claim_file(customers[account_id], incident)
    claim_file(customers["ACC-2"], incident, [services.ClaimLineInput("XEM", Decimal("25"), "missing deposit")])
    return incident


def _accounts(batch: ClaimBatch) -> set[str]:
    return set(Claim.objects.filter(batch=batch).values_list("customer__account_id", flat=True))


def test_maker_builds_a_batch_of_matching_claims_under_the_threshold(api_as, incident):
    response = api_as(staff(Role.REVIEWER)).post(
        "/api/staff/claims/batches/", {"incident": incident.code}, format="json"
    )
    assert response.status_code == 201, response.json()
    batch = ClaimBatch.objects.get(pk=response.json()["id"])
    assert _accounts(batch) == {"ACC-1", "ACC-3", "ACC-4"}  # not disputed ACC-2, not ACC-5 above ¥10M
    assert response.json()["claim_count"] == 3 and response.json()["total_jpy"] == 8_854 + 15_000 + 7_500_000 + 132
    assert set(Claim.objects.filter(batch=batch).values_list("status", flat=True)) == {"recommended"}


def test_amount_ceiling_narrows_the_batch(incident):
    batch = services.claim_batch_create(actor=staff(Role.REVIEWER), incident=incident, amount_ceiling_jpy=100_000)
    assert _accounts(batch) == {"ACC-1", "ACC-4"}


def test_a_different_user_approves_the_batch_and_each_claim_is_logged(
    api_as, incident, django_capture_on_commit_callbacks
):
    batch = services.claim_batch_create(actor=staff(Role.REVIEWER), incident=incident)
    checker = staff(Role.APPROVER)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(checker).post("/api/staff/claims/bulk-approve/", {"batch": batch.pk}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved" and response.json()["approved_by"] == checker.username
    approved = Claim.objects.filter(batch=batch)
    assert set(approved.values_list("status", flat=True)) == {"approved"}
    kato = approved.get(customer__account_id="ACC-3")
    assert kato.approved_amount_jpy == 7_500_000
    per_claim = Event.objects.filter(action="claim.approve", subject_type="claims.claim")
    assert set(per_claim.values_list("subject_id", flat=True)) == {str(c.pk) for c in approved}
    assert Event.objects.filter(action="claim_batch.approved", subject_id=str(batch.pk)).exists()
    assert Event.objects.filter(action="claim_batch.created", subject_id=str(batch.pk)).exists()
    # After commit, exactly the batch's claims were handed to reserves, each at its approved amount.
    assert dict(Entitlement.objects.values_list("claim_ref", "eligible_jpy")) == {
        c.ref: c.approved_amount_jpy for c in approved
    }
    assert all(t.status == "approved" for c in approved for t in c.timeline.all()[1:])
    incident.refresh_from_db()
    assert incident.prices_locked_at is not None
    assert log_verify().ok


def test_the_maker_cannot_approve_the_batch(api_as, incident):
    maker = staff(Role.APPROVER)
    batch = services.claim_batch_create(actor=maker, incident=incident)
    response = api_as(maker).post("/api/staff/claims/bulk-approve/", {"batch": batch.pk}, format="json")
    assert response.status_code == 422 and response.json()["error"] == "four_eyes"
    assert not ClaimApproval.objects.exists()


def test_the_database_refuses_a_batch_approved_by_its_maker(incident):
    maker = staff(Role.APPROVER)
    batch = services.claim_batch_create(actor=maker, incident=incident)
    with pytest.raises(IntegrityError), transaction.atomic():
        ClaimBatch.objects.filter(pk=batch.pk).update(status="approved", approved_by=maker)


@pytest.mark.postgres
def test_the_database_refuses_approval_rows_by_the_maker(incident):
    maker = staff(Role.APPROVER)
    batch = services.claim_batch_create(actor=maker, incident=incident)
    claim = Claim.objects.filter(batch=batch).first()
    with pytest.raises(IntegrityError, match="four-eyes"), transaction.atomic():
        ClaimApproval.objects.create(claim=claim, approver=maker, batch=batch)


def test_a_batch_is_approved_once(api_as, incident):
    batch = services.claim_batch_create(actor=staff(Role.REVIEWER), incident=incident)
    client = api_as(staff(Role.APPROVER))
    assert client.post("/api/staff/claims/bulk-approve/", {"batch": batch.pk}, format="json").status_code == 200
    again = client.post("/api/staff/claims/bulk-approve/", {"batch": batch.pk}, format="json")
    assert again.status_code == 409


def test_a_claim_already_in_a_batch_is_not_batched_again(incident):
    services.claim_batch_create(actor=staff(Role.REVIEWER), incident=incident)
    with pytest.raises(ApplicationError) as empty:
        services.claim_batch_create(actor=staff(Role.REVIEWER), incident=incident)
    assert empty.value.code == "batch_empty"


def test_a_claim_rejected_after_batching_is_left_out_of_the_approval(incident):
    batch = services.claim_batch_create(actor=staff(Role.REVIEWER), incident=incident)
    ito = Claim.objects.get(batch=batch, customer__account_id="ACC-4")
    services.claim_reject(actor=staff(Role.REVIEWER), claim=ito, reason="duplicate account")
    services.claim_batch_approve(actor=staff(Role.APPROVER), batch=batch)
    ito.refresh_from_db()
    assert ito.status == "rejected"
    batch.refresh_from_db()
    assert batch.claim_count == 2


def test_bulk_line_values_follow_the_one_rounding_rule(incident):
    batch = services.claim_batch_create(actor=staff(Role.REVIEWER), incident=incident)
    services.claim_batch_approve(actor=staff(Role.APPROVER), batch=batch)
    sato = Claim.objects.get(customer__account_id="ACC-1")
    # 100 XEM x 88.549 = 8,854.9 -> 8,854; 0.001 BTC x 15,000,000 = 15,000
    assert sorted(sato.lines.values_list("value_jpy", flat=True)) == [8_854, 15_000]
    assert sato.approved_amount_jpy == 23_854


def test_bulk_approval_needs_the_second_factor(api_as, incident):
    from tests.support.factories import user_with_role

    batch = services.claim_batch_create(actor=staff(Role.REVIEWER), incident=incident)
    response = api_as(user_with_role(Role.APPROVER)).post(
        "/api/staff/claims/bulk-approve/", {"batch": batch.pk}, format="json"
    )
    assert response.status_code == 403 and response.json()["error"] == "second_factor_required"


def test_a_price_change_before_approval_revalues_filed_claims(incident):
    btc = incident.assets.get(symbol="BTC")
    services.incident_asset_price_set(
        actor=staff(Role.APPROVER),
        asset=btc,
        reference_price_jpy=Decimal("14000000"),
        price_source="revised",
        price_method="VWAP",
    )
    kato = Claim.objects.get(customer__account_id="ACC-3")
    assert kato.amount_jpy == 7_000_000
    assert kato.lines.get().value_jpy == 7_000_000


def test_stale_stored_values_are_recomputed_at_bulk_approval(incident):
    from claims.models import ClaimLine

    batch = services.claim_batch_create(actor=staff(Role.REVIEWER), incident=incident)
    kato = Claim.objects.get(customer__account_id="ACC-3")
    ClaimLine.objects.filter(claim=kato).update(value_jpy=1)  # behind the services' back
    Claim.objects.filter(pk=kato.pk).update(amount_jpy=1)

    services.claim_batch_approve(actor=staff(Role.APPROVER), batch=batch)

    kato.refresh_from_db()
    assert kato.approved_amount_jpy == 7_500_000


def test_a_claim_total_out_of_step_with_its_lines_is_recomputed_at_bulk_approval(incident):
    batch = services.claim_batch_create(actor=staff(Role.REVIEWER), incident=incident)
    kato = Claim.objects.get(customer__account_id="ACC-3")
    Claim.objects.filter(pk=kato.pk).update(amount_jpy=1)  # the lines are right, the total is not

    services.claim_batch_approve(actor=staff(Role.APPROVER), batch=batch)

    kato.refresh_from_db()
    assert kato.approved_amount_jpy == 7_500_000


def test_every_customer_of_an_approved_batch_is_emailed_once(incident, django_capture_on_commit_callbacks):
    from django.core import mail

    batch = services.claim_batch_create(actor=staff(Role.REVIEWER), incident=incident)
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_batch_approve(actor=staff(Role.APPROVER), batch=batch)
    assert sorted(m.to[0] for m in mail.outbox) == ["ito@example.jp", "kato@example.jp", "sato@example.jp"]
    assert all("承認" in m.subject for m in mail.outbox)
