"""Waiting for real worker processes (the reliability and workflow tests)."""

import time

from reserves.models import Entitlement, Payout


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
