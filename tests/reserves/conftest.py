import pytest


@pytest.fixture(autouse=True)
def _fast_payouts(payout_settings):
    """Every reserves test runs with fast, deterministic payouts (tests/support/fixtures.py)."""
