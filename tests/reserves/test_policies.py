"""Insurance policies: registration, validation, and the database's own checks."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from reserves.models import Account, InsurancePolicy
from tests.support.money import policy

pytestmark = pytest.mark.django_db


def test_a_policy_gets_its_two_ledger_accounts():
    registered = policy("TM-2026-01", coinsurance_share=Decimal("0.8"))
    assert registered.account.code == "insurance:TM-2026-01" and registered.account.kind == "insurance"
    assert registered.insurer_account.code == "insurer:TM-2026-01" and registered.insurer_account.kind == "external"
    assert Account.objects.count() == 2


def test_a_policy_number_is_registered_once():
    policy("DUP-1")
    with pytest.raises(Conflict):
        policy("DUP-1")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"coinsurance_share": Decimal("1.5")}, "coinsurance_share"),
        ({"coinsurance_share": Decimal(0)}, "coinsurance_share"),
        ({"aggregate_limit_jpy": 10, "per_occurrence_limit_jpy": 20}, "aggregate_limit_jpy"),
        ({"retention_jpy": -1}, "retention_jpy"),
        ({"period_end": timezone.now() - dt.timedelta(days=400)}, "period_end"),
        ({"layer_order": 0}, "layer_order"),
        ({"policy_number": "has spaces"}, "policy_number"),
    ],
)
def test_invalid_terms_are_refused_naming_the_field(overrides, field):
    with pytest.raises(InvalidInput) as error:
        policy(**overrides)
    assert field in error.value.extra["fields"]
    assert not InsurancePolicy.objects.exists()


def test_the_database_refuses_impossible_terms():
    registered = policy()
    with pytest.raises(IntegrityError, match="policy_share_valid"), transaction.atomic():
        InsurancePolicy.objects.filter(pk=registered.pk).update(coinsurance_share=Decimal(2))
    with pytest.raises(IntegrityError, match="policy_aggregate_covers_occurrence"), transaction.atomic():
        InsurancePolicy.objects.filter(pk=registered.pk).update(aggregate_limit_jpy=1)
