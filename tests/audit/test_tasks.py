"""The Celery plumbing against real Redis and a real worker."""

import pytest
from django.db import transaction

from audit.services import Actor, event_record
from audit.tasks import audit_chain_verify


@pytest.mark.postgres
@pytest.mark.slow
def test_chain_verification_runs_on_a_real_worker(celery_worker):
    with transaction.atomic():
        for i in range(3):
            event_record(actor=Actor.system("tests"), action="x", subject=("thing", i))

    result = audit_chain_verify.delay().get(timeout=30)

    assert result == {"ok": True, "checked": 3, "tree_size": 3, "first_bad_seq": None}
