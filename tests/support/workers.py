"""Real Celery workers in the test process, and waiting for workers (the reliability and workflow tests)."""

import contextlib
import logging
import time
from collections.abc import Iterator

from reserves.models import Entitlement, Payout


@contextlib.contextmanager
def embedded_worker(app) -> Iterator[object]:
    """A Celery worker on two threads of this process, consuming from the app's broker.

    Celery's embedded worker sets the root logger to its own level (WARNING) as it starts; the level the
    site's logging configuration chose is put back when it stops, or every later test in this process would
    lose the INFO lines (the request log) that it checks.
    """
    from celery.contrib.testing.worker import start_worker

    root = logging.getLogger()
    level = root.level
    try:
        with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING") as worker:
            yield worker
    finally:
        root.setLevel(level)


def wait_until(condition, timeout: float = 90, what: str = "the workers to finish") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def settled(fund) -> bool:
    """Every entitlement is at the fund's latest round and every payout is paid or failed."""
    fund.refresh_from_db()
    if fund.round == 0 or Entitlement.objects.filter(fund=fund, round__lt=fund.round).exists():
        return False
    if Entitlement.objects.filter(fund=fund, admitted_round__isnull=True).exists():
        return False
    return not Payout.objects.filter(fund=fund, status__in=["pending", "submitted"]).exists()
