"""After a workflow test: the ledger reconciles and the audit trail verifies (once the workers are quiet)."""

import time

from django.core.management import call_command

from audit.models import Event
from reserves.selectors import ledger_reconcile


def books_are_right(*, settle_seconds: float = 0.7, timeout: float = 20) -> None:
    """Wait until no event was written for `settle_seconds` (follow-up tasks may still run), then check."""
    deadline = time.monotonic() + timeout
    last = Event.objects.count()
    while time.monotonic() < deadline:
        time.sleep(settle_seconds)
        now = Event.objects.count()
        if now == last:
            break
        last = now
    report = ledger_reconcile()
    assert report.ok, report.problems
    call_command("audit_verify")
