import pytest

from claims.models import Customer
from tests.support.factories import claim_file, incident_with_snapshot


@pytest.fixture
def incident():
    """An incident open for claims, with the standard three-line snapshot (ACC-1 Sato, ACC-2 Suzuki)."""
    return incident_with_snapshot()


@pytest.fixture
def claim(incident):
    """Sato's claim accepting the snapshot: 0.25 BTC and 1000.5 XEM, ¥3,838,593."""
    return claim_file(Customer.objects.get(account_id="ACC-1"), incident)
