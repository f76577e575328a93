"""Probes for load balancers, the metrics endpoint for Prometheus, and the staff operations page."""

import datetime as dt
import ipaddress
from functools import cache

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from core import charts
from core.roles import staff_required
from operations import health
from operations.metrics import exposition
from operations.selectors import overview
from reserves.selectors.reserve import reserve_series
from reserves.templatetags.reserves_tags import payout_status, rail_label
from reserves.views import charts as reserves_charts

RESERVE_CHART_DAYS = 30


@cache
def _networks(addresses: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(a, strict=False) for a in addresses)


def address_allowed(remote: str) -> bool:
    """Is the peer's address one of METRICS_ALLOWED_ADDRESSES (addresses or networks; loopback by default)?"""
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    return any(address in network for network in _networks(tuple(settings.METRICS_ALLOWED_ADDRESSES)))


def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive and answering; touches nothing else (a load balancer's liveness probe)."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    """200 when this process can serve (database, Redis, migrations, signing key), else 503 with what failed."""
    checks = health.readiness()
    ready = all(check.ok for check in checks)
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
    }
    return JsonResponse(body, status=200 if ready else 503)


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, only to METRICS_ALLOWED_ADDRESSES (loopback by default); 404 to anyone else."""
    if not address_allowed(request.META.get("REMOTE_ADDR", "")):
        return HttpResponse(status=404)
    return HttpResponse(exposition(), content_type="text/plain; version=0.0.4; charset=utf-8")


@staff_required
def operations_page(request: HttpRequest) -> HttpResponse:
    """The same figures as /metrics at a glance, for staff who may see money."""
    if not request.user.has_perm("reserves.view_money"):
        raise PermissionDenied
    state = overview()
    rails = sorted(rail for rail, statuses in state.payouts.items() if statuses)
    statuses = sorted({status for rail in rails for status in state.payouts[rail]})
    payouts_chart = (
        charts.bar_chart(
            title=_("Payouts by rail and status"),
            categories=[rail_label(rail) for rail in rails],
            series=[
                charts.Series(
                    payout_status(status), [state.payouts[rail].get(status, {}).get("count", 0) for rail in rails]
                )
                for status in statuses
            ],
            stacked=True,
        )
        if rails
        else None
    )
    today = timezone.localdate()
    reserve_chart = reserves_charts.reserve_chart(
        reserve_series(since=today - dt.timedelta(days=RESERVE_CHART_DAYS - 1), until=today)
    )
    queue_chart = (
        charts.bar_chart(
            title=_("Tasks waiting per queue"),
            categories=[queue.name for queue in state.queues],
            series=[charts.Series(_("tasks"), [queue.length for queue in state.queues])],
        )
        if state.queues
        else None
    )
    return render(
        request,
        "operations/overview.html",
        {
            "state": state,
            "checks": health.readiness(),
            "payouts_chart": payouts_chart,
            "reserve_chart": reserve_chart,
            "queue_chart": queue_chart,
            "rows": [
                (rail, status, state.payouts[rail][status]) for rail in rails for status in sorted(state.payouts[rail])
            ],
        },
    )
