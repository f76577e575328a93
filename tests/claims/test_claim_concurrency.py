"""Two filings at once against PostgreSQL: one claim, whatever the race."""

import pytest

from claims import services
from claims.models import Claim, Customer
from core.errors import Conflict
from tests.support.concurrency import race
from tests.support.factories import bank_payout, incident_with_snapshot

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _filer(customer, incident, key: str):
    return lambda: services.claim_file(
        customer=customer, incident=incident, lines=None, payout=bank_payout(), idempotency_key=key
    )


def test_same_key_twice_at_once_files_one_claim():
    incident = incident_with_snapshot()
    customer = Customer.objects.get(account_id="ACC-1")
    results = race([_filer(customer, incident, "same"), _filer(customer, incident, "same")])

    assert all(isinstance(r, services.ClaimFiled) for r in results), results
    assert sorted(r.created for r in results) == [False, True]
    assert results[0].claim.pk == results[1].claim.pk
    assert Claim.objects.count() == 1


def test_two_keys_at_once_file_one_claim_and_a_conflict():
    incident = incident_with_snapshot()
    customer = Customer.objects.get(account_id="ACC-1")
    results = race([_filer(customer, incident, "k1"), _filer(customer, incident, "k2")])

    filed = [r for r in results if isinstance(r, services.ClaimFiled)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(filed) == 1 and len(conflicts) == 1, results
    assert conflicts[0].code == "claim_exists"
    assert Claim.objects.count() == 1
