"""The regulator's payout history: filters, one `.values()` query the exports stream with a server-side cursor (flat
memory for a million rows, never a bank account number), totals by status and by source."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from core.exports import Column
from reserves.models import IncidentFund, InsurancePolicy, Payout
from reserves.selectors.funds import SourceTotal, source_totals

RESERVE_SOURCE = "reserve"


POLICY_SOURCE_PREFIX = "policy:"


@dataclass(frozen=True)
class PayoutFilter:
    """Filters of the payout history; every one given must match. `*_until` are exclusive.

    `source` is a key of `Payout.breakdown`: "reserve" or "policy:<number>"
    (payouts that drew any yen from that source).
    """

    incident: str = ""
    status: str = ""
    source: str = ""
    created_since: dt.datetime | None = None
    created_until: dt.datetime | None = None
    paid_since: dt.datetime | None = None
    paid_until: dt.datetime | None = None
    amount_min: int | None = None
    amount_max: int | None = None


PAYOUT_HISTORY_FIELDS = (
    "id",
    "claim_ref",
    "amount_jpy",
    "breakdown",
    "method",
    "rail",
    "status",
    "attempts",
    "rail_reference",
    "created_at",
    "paid_at",
)


# The columns of a history row: the payout's own, plus incident, round and claimant from their tables.
PAYOUT_HISTORY_VALUES: dict[str, Any] = {
    "incident": F("fund__incident_code"),
    "customer_account_id": F("entitlement__customer_account_id"),
    "customer_name": F("entitlement__customer_name"),
    "round": F("allocation__seq"),
}


PAYOUT_HISTORY_SORTS: dict[str, tuple] = {
    "id": ("id",),
    "-id": ("-id",),
    "amount": ("amount_jpy", "id"),
    "-amount": ("-amount_jpy", "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "paid": (F("paid_at").asc(nulls_last=True), "id"),
    "-paid": (F("paid_at").desc(nulls_last=True), "-id"),
    "incident": ("fund__incident_code", "id"),
    "status": ("status", "id"),
}


def payouts_filtered(*, filters: PayoutFilter) -> QuerySet[Payout]:
    """Payouts matching the filters (no order: the callers choose)."""
    payouts = Payout.objects.all()
    if filters.incident:
        payouts = payouts.filter(fund__incident_code=filters.incident)
    if filters.status:
        payouts = payouts.filter(status=filters.status)
    if filters.source:
        payouts = payouts.filter(breakdown__has_key=filters.source)
    if filters.created_since:
        payouts = payouts.filter(created_at__gte=filters.created_since)
    if filters.created_until:
        payouts = payouts.filter(created_at__lt=filters.created_until)
    if filters.paid_since:
        payouts = payouts.filter(paid_at__gte=filters.paid_since)
    if filters.paid_until:
        payouts = payouts.filter(paid_at__lt=filters.paid_until)
    if filters.amount_min is not None:
        payouts = payouts.filter(amount_jpy__gte=filters.amount_min)
    if filters.amount_max is not None:
        payouts = payouts.filter(amount_jpy__lte=filters.amount_max)
    return payouts.order_by()


def payout_history(*, filters: PayoutFilter, sort: str = "id") -> QuerySet[Payout, dict[str, Any]]:
    """History rows (dicts, see PAYOUT_HISTORY_FIELDS and PAYOUT_HISTORY_VALUES), by id unless `sort` says otherwise.

    One query; iterate it with `.iterator()` (as the regulator's CSV and JSON exports do) to
    stream any number of rows in flat memory.
    """
    ordering = PAYOUT_HISTORY_SORTS.get(sort, PAYOUT_HISTORY_SORTS["id"])
    return payouts_filtered(filters=filters).values(*PAYOUT_HISTORY_FIELDS, **PAYOUT_HISTORY_VALUES).order_by(*ordering)


def reserve_part(row: dict) -> int:
    """Yen of a payout drawn on the liability reserve."""
    return int(row["breakdown"].get(RESERVE_SOURCE, 0))


def insurance_part(row: dict) -> int:
    """Yen of a payout drawn on insurance policies (every key of the breakdown but the reserve)."""
    return sum(int(amount) for key, amount in row["breakdown"].items() if key != RESERVE_SOURCE)


def _local_iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 in the site's time zone (with its offset). get_default_timezone is cached: cheap per row."""
    return value.astimezone(timezone.get_default_timezone()).isoformat() if value is not None else None


PAYOUT_COLUMNS = [
    Column("id", label=gettext_lazy("Payout ID")),
    Column("incident", label=gettext_lazy("Incident")),
    Column("claim_ref", label=gettext_lazy("Claim")),
    Column("customer_account_id", label=gettext_lazy("Account")),
    Column("customer_name", label=pgettext_lazy("regulator", "Customer name")),
    Column("round", label=pgettext_lazy("payout round", "Round")),
    Column("amount_jpy", label=gettext_lazy("Amount")),
    Column("reserve_jpy", reserve_part, label=pgettext_lazy("regulator", "Reserve")),
    Column("insurance_jpy", insurance_part, label=gettext_lazy("Insurance")),
    Column("breakdown", label=gettext_lazy("Sources")),
    Column("method", label=gettext_lazy("Payment method")),
    Column("rail", label=pgettext_lazy("regulator", "Rail")),
    Column("status", label=gettext_lazy("Status")),
    Column("attempts", label=pgettext_lazy("regulator", "Attempts")),
    Column("rail_reference", label=gettext_lazy("Rail reference")),
    Column("created_at", lambda row: _local_iso(row["created_at"]), label=pgettext_lazy("regulator", "Created")),
    Column("paid_at", lambda row: _local_iso(row["paid_at"]), label=pgettext_lazy("payout time", "Paid")),
]


@dataclass(frozen=True)
class PayoutTotals:
    count: int
    amount_jpy: int
    by_status: dict[str, SourceTotal]
    by_source: dict[str, SourceTotal]

    @property
    def reserve_jpy(self) -> int:
        total = self.by_source.get(RESERVE_SOURCE)
        return total.amount_jpy if total else 0

    @property
    def insurance_jpy(self) -> int:
        return sum(t.amount_jpy for key, t in self.by_source.items() if key != RESERVE_SOURCE)


def payout_totals(*, filters: PayoutFilter) -> PayoutTotals:
    """Count and yen of the filtered payouts, per status and per source (two grouped queries)."""
    payouts = payouts_filtered(filters=filters)
    by_status = {
        status: SourceTotal(int(n), int(amount or 0))
        for status, n, amount in payouts.values("status")
        .annotate(n=Count("id"), amount=Sum("amount_jpy"))
        .values_list("status", "n", "amount")
    }
    return PayoutTotals(
        count=sum(t.count for t in by_status.values()),
        amount_jpy=sum(t.amount_jpy for t in by_status.values()),
        by_status=by_status,
        by_source=dict(sorted(source_totals(payouts=payouts).items(), key=lambda item: source_order(item[0]))),
    )


def source_order(key: str) -> tuple[int, str]:
    return (0, "") if key == RESERVE_SOURCE else (1, key)


def payout_sources() -> list[tuple[str, str]]:
    """(source key, label) of every source a payout can draw on: the reserve, then each policy by layer."""
    sources = [(RESERVE_SOURCE, gettext("Liability reserve"))]
    for insurer, number in InsurancePolicy.objects.order_by("layer_order", "id").values_list(
        "insurer", "policy_number"
    ):
        sources.append((f"{POLICY_SOURCE_PREFIX}{number}", f"{insurer} {number}"))
    return sources


def incident_codes() -> list[str]:
    return list(IncidentFund.objects.order_by("incident_code").values_list("incident_code", flat=True))
