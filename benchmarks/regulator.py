"""`python manage.py bench regulator`: the regulator's figures with a million payouts in the database.

Makes sure the database holds --payouts payouts (the same synthetic paid payouts as
`bench payout_export`, which stay: use a scratch database), declares a claims incident
for their fund, then times --requests reads of each regulator figure as a regulator
through Django's test client: the incident summary (API), the reserve series and
insurance usage (API), and the payout list's first page. The payout figures come
from the counters PostgreSQL keeps as money moves (reserves.models.PayoutFigure); the
naive reference is the incident summary computed by scanning the payouts, as before
(--naive-requests reads). Prints p50/p95 per read and the summary's ratio. Every read computes
its figures: the summary's per-second sharing (REGULATOR_SUMMARY_CACHE_SECONDS) is off here, so
the figure is what one computation costs, not a cache hit.
"""

import sys
import time
from typing import Any
from unittest import mock

from django.contrib.auth.models import Group
from django.test import Client, override_settings

from audit.services import staged_events_drain
from benchmarks.audit_export import HttpsClient
from benchmarks.payout_export import _fill
from benchmarks.snapshot import bench_incident
from core.roles import Role
from core.types import User
from reserves.models import IncidentFund, Payout
from reserves.selectors import figures


def add_arguments(parser: Any) -> None:
    parser.add_argument("--payouts", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--naive-requests", type=int, default=5)


def _times(client: Client, path: str, n: int) -> list[float]:
    client.get(path)  # warm
    seconds = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(path)
        seconds.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")
    return seconds


def _ms(seconds: list[float], q: float) -> float:
    ordered = sorted(seconds)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


def run(*, payouts: int, requests: int, naive_requests: int, **_: Any) -> dict[str, Any]:
    started = time.perf_counter()
    added = _fill(payouts)
    fill_seconds = time.perf_counter() - started
    fund = IncidentFund.objects.order_by("-id").filter(incident_code__startswith="bench-export-").first()
    if fund is None:
        raise SystemExit("no synthetic payout fund: run with --payouts above the payouts already there")
    from claims.models import Incident

    if not Incident.objects.filter(code=fund.incident_code).exists():
        bench_incident(fund.incident_code)
    user = User.objects.create_user(username=f"bench-regulator-{time.time_ns()}")
    user.groups.add(Group.objects.get(name=Role.REGULATOR))
    client = HttpsClient(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    summary = f"/api/regulator/incidents/{fund.incident_code}/summary/"
    paths = {
        "incident_summary": summary,
        "reserve_series": "/api/regulator/reserve/",
        "insurance_usage": "/api/regulator/insurance/",
        "payouts_first_page": "/api/regulator/payouts/",
    }
    figures_ms: dict[str, dict[str, float]] = {}
    with override_settings(REGULATOR_SUMMARY_CACHE_SECONDS=0):
        for name, path in paths.items():
            seconds = _times(client, path, requests)
            figures_ms[name] = {"p50_ms": _ms(seconds, 0.5), "p95_ms": _ms(seconds, 0.95)}
            print(f"{name}: p95 {figures_ms[name]['p95_ms']} ms", file=sys.stderr)
        with mock.patch.object(figures, "maintained", return_value=False):
            naive = _times(client, summary, naive_requests)
    staged_events_drain()  # the reads' own audit events
    fast_p50 = figures_ms["incident_summary"]["p50_ms"]
    naive_p50 = _ms(naive, 0.5)
    return {
        "bench": "regulator",
        "n": Payout.objects.count(),
        "seconds": round(fast_p50 / 1000, 4),
        "fast_per_s": round(1000 / fast_p50, 1) if fast_p50 else None,
        "naive_per_s": round(1000 / naive_p50, 1) if naive_p50 else None,
        "ratio": round(naive_p50 / fast_p50, 1) if fast_p50 else None,
        "reads": figures_ms,
        "naive_summary_p50_ms": naive_p50,
        "fund_payouts": Payout.objects.filter(fund=fund).count(),
        "payouts_added": added,
        "fill_seconds": round(fill_seconds, 1),
    }
