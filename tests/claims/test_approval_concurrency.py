"""Approvals racing each other on PostgreSQL: every claim approved once, by the right number of people."""

import pytest

from audit.models import Event
from claims import services
from claims.models import Claim, ClaimApproval, Customer
from core.roles import Role
from reserves.models import Entitlement
from tests.support.concurrency import race
from tests.support.factories import claim_file, incident_with_snapshot
from tests.support.login import staff

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROWS = [(f"ACC-{i}", f"N{i}", f"n{i}@example.jp", "XEM", "10") for i in range(1, 7)]


def test_two_approvers_at_once_approve_a_one_approver_claim_once():
    incident = incident_with_snapshot(ROWS)
    claim = claim_file(Customer.objects.get(account_id="ACC-1"), incident)
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    a, b = staff(Role.APPROVER), staff(Role.APPROVER)

    results = race(
        [lambda: services.claim_approve(actor=a, claim=claim), lambda: services.claim_approve(actor=b, claim=claim)]
    )

    assert sum(isinstance(r, Claim) for r in results) == 1, results
    refused = next(r for r in results if not isinstance(r, Claim))
    assert refused.code == "invalid_transition"
    assert ClaimApproval.objects.filter(claim=claim).count() == 1
    assert Claim.objects.get().status == "approved"


def test_a_batch_and_a_single_approval_racing_approve_each_claim_once(settings):
    incident = incident_with_snapshot(ROWS)
    for customer in Customer.objects.all():
        claim_file(customer, incident)
    batch = services.claim_batch_create(actor=staff(Role.REVIEWER), incident=incident)
    single = Claim.objects.filter(batch=batch).order_by("-pk").first()
    a, b = staff(Role.APPROVER), staff(Role.APPROVER)
    results = race(
        [
            lambda: services.claim_batch_approve(actor=a, batch=batch),
            lambda: services.claim_approve(actor=b, claim=single),
        ]
    )

    assert not any(isinstance(r, Exception) and r.code != "invalid_transition" for r in results), results
    assert set(Claim.objects.values_list("status", flat=True)) == {"approved"}
    # Each claim handed over exactly once: reserves registered each in exactly one of its audit events.
    registered = [
        row[1]  # [id, claim_ref, account, eligible, base, method]
        for event in Event.objects.filter(action="entitlements.registered")
        for row in event.data["entitlements"]
    ]
    assert sorted(registered) == sorted(Claim.objects.values_list("ref", flat=True))
    for claim in Claim.objects.all():
        assert ClaimApproval.objects.filter(claim=claim).count() == 1
    # Both hand-offs reached reserves despite racing on the incident's fund.
    assert sorted(Entitlement.objects.values_list("claim_ref", flat=True)) == sorted(
        Claim.objects.values_list("ref", flat=True)
    )
