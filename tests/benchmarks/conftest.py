import pytest


@pytest.fixture(autouse=True)
def _fast_payouts(payout_settings):
    """The payout benchmarks run with the reserves tests' fast, deterministic payout settings."""
