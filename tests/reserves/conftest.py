import datetime as dt

import pytest
from django.utils import timezone

from reserves.models import RecoveryClaim
from tests.support.money import fund_open, policy, register, reserve_fund


@pytest.fixture(autouse=True)
def _fast_payouts(payout_settings):
    """Every reserves test runs with fast, deterministic payouts (tests/support/fixtures.py)."""


@pytest.fixture
def recovery(django_capture_on_commit_callbacks) -> RecoveryClaim:
    """An insurer recovery claim, open: a reserve of ¥100 against a ¥1,000 claim, a ¥900 policy covers the rest."""
    reserve_fund(100)
    policy(per_occurrence_limit_jpy=900, aggregate_limit_jpy=900)
    fund = fund_open(detected_at=timezone.now() - dt.timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        register(fund, {"A": 1000})
    return RecoveryClaim.objects.get()
