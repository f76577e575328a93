"""Payout figures read from the counters PostgreSQL keeps as money moves (reserves.models.PayoutFigure).

Constant time in the number of payouts: a fund's figures are a handful of rows per
status and source, and one row per minute in which payouts were paid. The embedded
profile (SQLite) has no triggers; callers use `maintained()` to choose.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from reserves.engine.population import population_of
from reserves.models import FundFigure, IncidentFund, PayoutFigure
from reserves.waterfall import Population

EPOCH = PayoutFigure.EPOCH


def maintained() -> bool:
    """Whether the database keeps the figures (PostgreSQL, with the migration's triggers)."""
    return connection.vendor == "postgresql"


def status_totals(*, fund: IncidentFund) -> dict[str, tuple[int, int]]:
    """status -> (payouts, yen) of the fund's payouts."""
    rows = PayoutFigure.objects.filter(fund=fund, minute=EPOCH, source="", count__gt=0)
    return {status: (count, amount) for status, count, amount in rows.values_list("status", "count", "amount_jpy")}


def paid_by_source(*, fund: IncidentFund) -> dict[str, int]:
    """Yen each source bore in paid payouts."""
    rows = PayoutFigure.objects.filter(fund=fund, status="paid", minute=EPOCH).exclude(source="").exclude(amount_jpy=0)
    return dict(rows.values_list("source", "amount_jpy"))


def _paid_minutes(fund: IncidentFund):
    return (
        PayoutFigure.objects.filter(fund=fund, status="paid", source="", count__gt=0)
        .exclude(minute=EPOCH)
        .order_by("minute")
    )


@dataclass(frozen=True)
class PaidTimeline:
    """When a fund's payouts were paid: the first payment, the one that reached a milestone, yen per day."""

    first_paid_at: dt.datetime | None
    reached_at: dt.datetime | None  # None when the milestone is not reached yet (or is not positive)
    per_day: list[tuple[dt.date, int]]


def paid_timeline(*, fund: IncidentFund, milestone_jpy: int = 0) -> PaidTimeline:
    """The timeline from one read of the per-minute figures (local days; the milestone's minute's last payment)."""
    days: dict[dt.date, int] = {}
    first_at = reached_at = None
    running = 0
    for minute, amount, first, last in _paid_minutes(fund).values_list("minute", "amount_jpy", "first_at", "last_at"):
        first_at = first_at or first
        running += amount
        if reached_at is None and 0 < milestone_jpy <= running:
            reached_at = last
        day = timezone.localdate(minute)
        days[day] = days.get(day, 0) + amount
    return PaidTimeline(first_at, reached_at, sorted(days.items()))


def fund_totals(*, fund: IncidentFund) -> dict[str, int]:
    """The fund's entitlement and holdback totals (the sum of its shards' rows)."""
    fields = ["entitlements", "eligible_jpy", "base_jpy", "allocated_jpy", "holdbacks", "held_jpy", "held_base_jpy"]
    fields.append("claimed_jpy")
    totals = FundFigure.objects.filter(fund=fund).aggregate(**{name: Sum(name) for name in fields})
    return {name: int(value or 0) for name, value in totals.items()}


def population(*, fund: IncidentFund, totals: dict[str, int] | None = None) -> Population:
    """The population the rates are computed over now, from the kept totals (read here unless given)."""
    t = totals if totals is not None else fund_totals(fund=fund)
    return population_of(
        fund,
        t["entitlements"],
        t["eligible_jpy"],
        t["base_jpy"],
        t["holdbacks"],
        t["held_jpy"],
        t["held_base_jpy"],
        t["claimed_jpy"],
    )[2]
