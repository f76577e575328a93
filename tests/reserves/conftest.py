import pytest

from reserves import signals


@pytest.fixture(autouse=True)
def _fast_payouts(payout_settings):
    """Every reserves test runs with fast, deterministic payouts (tests/support/fixtures.py)."""


@pytest.fixture
def received():
    """Every payout signal sent, as (name, kwargs)."""
    seen: list[tuple[str, dict]] = []

    def receiver(name):
        def handle(sender, **kwargs):
            kwargs.pop("signal", None)
            seen.append((name, kwargs))

        return handle

    handlers = {name: receiver(name) for name in ("paid", "failed", "completed")}
    signals.payout_paid.connect(handlers["paid"])
    signals.payout_failed.connect(handlers["failed"])
    signals.payout_completed.connect(handlers["completed"])
    yield seen
    signals.payout_paid.disconnect(handlers["paid"])
    signals.payout_failed.disconnect(handlers["failed"])
    signals.payout_completed.disconnect(handlers["completed"])
