"""Reads for the regulator portal: payout history, the reserve against its minimum, insurance usage, quarterly report.

Pure reads (selectors). The API (reserves/regulator_api.py) and the pages
(reserves/regulator_views.py) call these and hold no rules.

- Payout history: `payout_history(filters=…)` is one `.values()` query
  (payout, incident, round and the claimant's account id and name from the
  entitlement), ordered by id, that the exports stream with a server-side
  cursor: flat memory for a million rows. Never a bank account number.
- The reserve over time: `reserve_series(since=…, until=…)` rebuilds the
  balance at the end of each day from the reserve account's transfers (one
  grouped query) and the required minimum of that day from the custody
  valuation in force then.
- Insurance usage: `insurance_usage()` per policy: terms, recoveries per
  incident with their deadlines, yen paid to claimants out of the policy
  (the policy's key in paid payouts' breakdown) and the aggregate used.
- `reserve_report_sections(start=…, end=…)`: the reserves part of the quarterly report.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.exports import Column
from core.reports import Section
from reserves import ledger
from reserves.allocation import aggregate_remaining_jpy, policy_aggregate_used
from reserves.models import (
    CustodyValuation,
    IncidentFund,
    InsurancePolicy,
    Payout,
    RecoveryClaim,
    ReserveFunding,
    Transfer,
)
from reserves.selectors import (
    AgainstMinimum,
    ReservePosition,
    SourceTotal,
    reserve_position,
    reserve_required_jpy,
    source_totals,
)

RESERVE_SOURCE = "reserve"
POLICY_SOURCE_PREFIX = "policy:"

# --- Payout history -----------------------------------------------------------------------------------------


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


# The columns of a history row: the payout's own, plus incident, round and claimant from their tables.
PAYOUT_HISTORY_VALUES: dict[str, Any] = {
    "incident": F("fund__incident_code"),
    "customer_account_id": F("entitlement__customer_account_id"),
    "customer_name": F("entitlement__customer_name"),
    "round": F("allocation__seq"),
}
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


def payout_history(*, filters: PayoutFilter, sort: str = "id") -> QuerySet[dict]:
    """History rows (dicts, see PAYOUT_HISTORY_FIELDS and PAYOUT_HISTORY_VALUES), by id unless `sort` says otherwise.

    One query; iterate it with `.iterator()` (as config/exports.py does) to
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
    Column("id"),
    Column("incident"),
    Column("claim_ref"),
    Column("customer_account_id"),
    Column("customer_name"),
    Column("round"),
    Column("amount_jpy"),
    Column("reserve_jpy", reserve_part),
    Column("insurance_jpy", insurance_part),
    Column("breakdown"),
    Column("method"),
    Column("rail"),
    Column("status"),
    Column("attempts"),
    Column("rail_reference"),
    Column("created_at", lambda row: _local_iso(row["created_at"])),
    Column("paid_at", lambda row: _local_iso(row["paid_at"])),
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
        by_source=dict(sorted(source_totals(payouts=payouts).items(), key=lambda item: _source_order(item[0]))),
    )


def _source_order(key: str) -> tuple[int, str]:
    return (0, "") if key == RESERVE_SOURCE else (1, key)


def payout_sources() -> list[tuple[str, str]]:
    """(source key, label) of every source a payout can draw on: the reserve, then each policy by layer."""
    sources = [(RESERVE_SOURCE, "Liability reserve")]
    for insurer, number in InsurancePolicy.objects.order_by("layer_order", "id").values_list(
        "insurer", "policy_number"
    ):
        sources.append((f"{POLICY_SOURCE_PREFIX}{number}", f"{insurer} {number}"))
    return sources


def incident_codes() -> list[str]:
    return list(IncidentFund.objects.order_by("incident_code").values_list("incident_code", flat=True))


# --- The reserve over time --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReservePoint(AgainstMinimum):
    """The reserve at the end of a day (the site's time zone) and the minimum required that day."""

    day: dt.date
    balance_jpy: int
    required_jpy: int
    custody_value_jpy: int


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_current_timezone())


def _reserve_transfers() -> tuple[int, QuerySet[Transfer]]:
    reserve = ledger.reserve_account()
    return reserve.id, Transfer.objects.filter(Q(debit_account_id=reserve.id) | Q(credit_account_id=reserve.id))


def _signed(reserve_id: int, credit_id: int, amount: int) -> int:
    return amount if credit_id == reserve_id else -amount


def reserve_balance_at(*, moment: dt.datetime | None = None) -> int:
    """The reserve's balance just before `moment` (None: after every transfer so far), from its transfers."""
    reserve_id, transfers = _reserve_transfers()
    if moment is not None:
        transfers = transfers.filter(created_at__lt=moment)
    sums = dict(
        transfers.values("credit_account_id")
        .annotate(s=Sum("amount_jpy"))
        .order_by()
        .values_list("credit_account_id", "s")
    )
    credited = int(sums.pop(reserve_id, 0) or 0)
    return credited - sum(int(s or 0) for s in sums.values())


def reserve_series(*, since: dt.date, until: dt.date) -> list[ReservePoint]:
    """One point per day from `since` to `until` (both included): balance at the day's end and that day's minimum.

    The balance is the opening balance (transfers before `since`) plus one
    grouped query of the net change per day; the minimum uses the newest
    custody valuation recorded as of the end of each day, with today's
    RESERVE_MINIMUM_FLOOR_JPY and RESERVE_MINIMUM_CUSTODY_PERCENT (settings
    have no history).
    """
    if until < since:
        return []
    start, end = _day_start(since), _day_start(until + dt.timedelta(days=1))
    reserve_id, transfers = _reserve_transfers()
    balance = reserve_balance_at(moment=start)
    per_day: dict[dt.date, int] = defaultdict(int)
    rows = (
        transfers.filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at"))
        .values("day", "credit_account_id")
        .annotate(s=Sum("amount_jpy"))
        .order_by()
        .values_list("day", "credit_account_id", "s")
    )
    for day, credit_id, amount in rows:
        per_day[day] += _signed(reserve_id, credit_id, int(amount))
    earlier = (
        CustodyValuation.objects.filter(as_of__lt=start).order_by("-as_of", "-id").values_list("value_jpy", flat=True)
    ).first()
    valuations = list(
        CustodyValuation.objects.filter(as_of__gte=start, as_of__lt=end)
        .order_by("as_of", "id")
        .values_list("as_of", "value_jpy")
    )
    custody = earlier or 0
    points, day, next_valuation = [], since, 0
    while day <= until:
        day_end = _day_start(day + dt.timedelta(days=1))
        while next_valuation < len(valuations) and valuations[next_valuation][0] < day_end:
            custody = valuations[next_valuation][1]
            next_valuation += 1
        balance += per_day.get(day, 0)
        points.append(ReservePoint(day, balance, reserve_required_jpy(custody_value_jpy=custody), custody))
        day += dt.timedelta(days=1)
    return points


@dataclass(frozen=True)
class ReserveMovement:
    """A transfer into or out of the reserve; `amount_jpy` is signed (+ in, - out)."""

    transfer_id: int
    at: dt.datetime
    kind: str  # funding, replenishment, draw (or another transfer kind)
    amount_jpy: int
    incident_code: str
    reference: str
    balance_after_jpy: int


def _funding_kinds(keys: list[str]) -> dict[str, str]:
    """Transfer key "funding:<id>" -> the funding's kind (funding or replenishment)."""
    ids = [int(key.split(":", 1)[1]) for key in keys if key.startswith("funding:") and key[8:].isdigit()]
    return {f"funding:{pk}": kind for pk, kind in ReserveFunding.objects.filter(pk__in=ids).values_list("pk", "kind")}


def reserve_movements(*, limit: int = 20) -> list[ReserveMovement]:
    """The reserve's latest transfers, newest first, with the balance after each."""
    reserve_id, transfers = _reserve_transfers()
    rows = list(
        transfers.order_by("-id").values_list(
            "id", "created_at", "kind", "idempotency_key", "credit_account_id", "amount_jpy", "incident_code", "memo"
        )[:limit]
    )
    kinds = _funding_kinds([row[3] for row in rows])
    balance = reserve_balance_at()
    movements = []
    for pk, at, kind, key, credit_id, amount, incident_code, memo in rows:
        signed = _signed(reserve_id, credit_id, amount)
        movements.append(ReserveMovement(pk, at, kinds.get(key, kind), signed, incident_code, memo, balance))
        balance -= signed
    return movements


@dataclass(frozen=True)
class ReserveOverview:
    position: ReservePosition
    series: list[ReservePoint]
    movements: list[ReserveMovement]


def reserve_overview(*, since: dt.date, until: dt.date, movements: int = 20) -> ReserveOverview:
    """The current position (reserve_position), the daily series and the latest movements."""
    return ReserveOverview(
        position=reserve_position(),
        series=reserve_series(since=since, until=until),
        movements=reserve_movements(limit=movements),
    )


# --- Insurance usage ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecoveryUsage:
    """One incident's recovery claim against a policy, and what claimants were paid out of that policy."""

    recovery_id: int
    incident_code: str
    incident_title: str
    status: str
    status_label: str
    claimed_jpy: int
    settled_jpy: int
    paid_to_claimants_jpy: int
    notice_due_at: dt.datetime
    notice_sent_at: dt.datetime | None
    proof_due_at: dt.datetime
    proof_submitted_at: dt.datetime | None
    settled_at: dt.datetime | None
    notice_overdue: bool
    proof_overdue: bool


@dataclass(frozen=True)
class PolicyUsage:
    policy_id: int
    insurer: str
    policy_number: str
    layer_order: int
    period_start: dt.datetime
    period_end: dt.datetime
    retention_jpy: int
    per_occurrence_limit_jpy: int
    aggregate_limit_jpy: int
    coinsurance_share: Decimal
    exclusions: str
    in_force: bool
    claimed_jpy: int
    settled_jpy: int
    paid_to_claimants_jpy: int
    aggregate_used_jpy: int
    aggregate_remaining_jpy: int
    recoveries: list[RecoveryUsage]

    @property
    def source(self) -> str:
        return f"{POLICY_SOURCE_PREFIX}{self.policy_number}"


_OPEN = (RecoveryClaim.Status.OPEN, RecoveryClaim.Status.NOTIFIED, RecoveryClaim.Status.PROOF_SUBMITTED)


def insurance_usage(*, now: dt.datetime | None = None) -> list[PolicyUsage]:
    """Every policy by layer: its terms, recoveries per incident, paid to claimants, aggregate used and remaining.

    Aggregate used is what the waterfall counts (reserves.allocation.policy_aggregate_used:
    per recovery the larger of claimed and settled), over every incident.
    Four queries whatever the number of payouts: policies, recoveries,
    aggregate used, and the policies' keys in paid payouts of the incidents
    that have recoveries.
    """
    now = now or timezone.now()
    policies = list(InsurancePolicy.objects.order_by("layer_order", "id"))
    recoveries = list(RecoveryClaim.objects.select_related("fund").order_by("fund__incident_code", "id"))
    used = policy_aggregate_used()
    paid = source_totals(
        payouts=Payout.objects.filter(status=Payout.Status.PAID, fund_id__in={r.fund_id for r in recoveries}),
        by_fund=True,
    )
    by_policy: dict[int, list[RecoveryUsage]] = defaultdict(list)
    numbers = {p.pk: p.policy_number for p in policies}
    for r in recoveries:
        total = paid.get((r.fund_id, f"{POLICY_SOURCE_PREFIX}{numbers[r.policy_id]}"))
        by_policy[r.policy_id].append(
            RecoveryUsage(
                recovery_id=r.pk,
                incident_code=r.fund.incident_code,
                incident_title=r.fund.title,
                status=r.status,
                status_label=str(r.get_status_display()),
                claimed_jpy=r.amount_claimed_jpy,
                settled_jpy=r.settled_jpy,
                paid_to_claimants_jpy=total.amount_jpy if total else 0,
                notice_due_at=r.notice_due_at,
                notice_sent_at=r.notice_sent_at,
                proof_due_at=r.proof_due_at,
                proof_submitted_at=r.proof_submitted_at,
                settled_at=r.settled_at,
                notice_overdue=r.status in _OPEN and r.notice_sent_at is None and r.notice_due_at < now,
                proof_overdue=r.status in _OPEN and r.proof_submitted_at is None and r.proof_due_at < now,
            )
        )
    usage = []
    for p in policies:
        items = by_policy.get(p.pk, [])
        used_jpy = used.get(p.pk, 0)
        usage.append(
            PolicyUsage(
                policy_id=p.pk,
                insurer=p.insurer,
                policy_number=p.policy_number,
                layer_order=p.layer_order,
                period_start=p.period_start,
                period_end=p.period_end,
                retention_jpy=p.retention_jpy,
                per_occurrence_limit_jpy=p.per_occurrence_limit_jpy,
                aggregate_limit_jpy=p.aggregate_limit_jpy,
                coinsurance_share=p.coinsurance_share,
                exclusions=p.exclusions,
                in_force=p.period_start <= now < p.period_end,
                claimed_jpy=sum(r.claimed_jpy for r in items),
                settled_jpy=sum(r.settled_jpy for r in items),
                paid_to_claimants_jpy=sum(r.paid_to_claimants_jpy for r in items),
                aggregate_used_jpy=used_jpy,
                aggregate_remaining_jpy=aggregate_remaining_jpy(policy=p, used_jpy=used_jpy),
                recoveries=items,
            )
        )
    return usage


# --- Quarterly report ------------------------------------------------------------------------------------------


def _source_label(key: str, insurers: dict[str, str]) -> str:
    if key == RESERVE_SOURCE:
        return "liability reserve"
    number = key.removeprefix(POLICY_SOURCE_PREFIX)
    return f"{insurers.get(number, '?')} {number} ({key})"


def reserve_report_sections(*, start: dt.datetime, end: dt.datetime) -> list[Section]:
    """The reserves part of the quarterly report for [start, end).

    Payouts paid in the period by incident and by source, payouts that failed
    in it (their last change), reserve movements with opening and closing
    balance, and insurer settlements received.
    """
    insurers = dict(InsurancePolicy.objects.values_list("policy_number", "insurer"))
    return [
        *_payout_sections(start, end, insurers),
        _movements_section(start, end),
        _settlements_section(start, end),
    ]


def _payout_sections(start: dt.datetime, end: dt.datetime, insurers: dict[str, str]) -> list[Section]:
    paid = Payout.objects.filter(status=Payout.Status.PAID, paid_at__gte=start, paid_at__lt=end)
    failed = Payout.objects.filter(status=Payout.Status.FAILED, updated_at__gte=start, updated_at__lt=end)
    codes = dict(IncidentFund.objects.values_list("id", "incident_code"))
    paid_by_fund = {
        fund_id: (n, int(s))
        for fund_id, n, s in paid.values("fund_id")
        .annotate(n=Count("id"), s=Sum("amount_jpy"))
        .order_by()
        .values_list("fund_id", "n", "s")
    }
    failed_by_fund = {
        fund_id: (n, int(s))
        for fund_id, n, s in failed.values("fund_id")
        .annotate(n=Count("id"), s=Sum("amount_jpy"))
        .order_by()
        .values_list("fund_id", "n", "s")
    }
    sources = source_totals(payouts=paid, by_fund=True)
    by_incident = []
    for fund_id in sorted(set(paid_by_fund) | set(failed_by_fund), key=lambda f: codes[f]):
        n_paid, yen_paid = paid_by_fund.get(fund_id, (0, 0))
        n_failed, yen_failed = failed_by_fund.get(fund_id, (0, 0))
        reserve = sources.get((fund_id, RESERVE_SOURCE), SourceTotal(0, 0)).amount_jpy
        insurance = sum(t.amount_jpy for (f, key), t in sources.items() if f == fund_id and key != RESERVE_SOURCE)
        by_incident.append((codes[fund_id], n_paid, yen_paid, reserve, insurance, n_failed, yen_failed))
    if by_incident:
        by_incident.append(("total", *(sum(row[i] for row in by_incident) for i in range(1, 7))))
    per_source: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (_fund, key), total in sources.items():
        per_source[key][0] += total.count
        per_source[key][1] += total.amount_jpy
    by_source = [
        (_source_label(key, insurers), n, yen)
        for key, (n, yen) in sorted(per_source.items(), key=lambda i: _source_order(i[0]))
    ]
    failures = [
        (
            row["id"],
            codes[row["fund_id"]],
            row["claim_ref"],
            row["amount_jpy"],
            row["attempts"],
            row["updated_at"],
            row["last_error"],
        )
        for row in failed.order_by("id").values(
            "id", "fund_id", "claim_ref", "amount_jpy", "attempts", "updated_at", "last_error"
        )
    ]
    return [
        Section(
            "Payouts paid by incident",
            [
                "incident",
                "payouts paid",
                "paid (JPY)",
                "from the reserve (JPY)",
                "from insurance (JPY)",
                "payouts failed",
                "failed (JPY)",
            ],
            by_incident,
            note="Paid: payouts that reached the claimant in the period. "
            "Failed: payouts that ended failed in the period (staff may retry them).",
        ),
        Section(
            "Payouts paid by source of funds",
            ["source", "payouts drawing on it", "paid from it (JPY)"],
            by_source,
        ),
        Section(
            "Payout failures",
            ["payout", "incident", "claim", "amount (JPY)", "attempts", "failed at", "reason"],
            failures,
        ),
    ]


def _movements_section(start: dt.datetime, end: dt.datetime) -> Section:
    reserve_id, transfers = _reserve_transfers()
    opening = reserve_balance_at(moment=start)
    rows = list(
        transfers.filter(created_at__gte=start, created_at__lt=end)
        .order_by("id")
        .values_list("kind", "idempotency_key", "credit_account_id", "amount_jpy", "incident_code")
    )
    kinds = _funding_kinds([row[1] for row in rows])
    grouped: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for kind, key, credit_id, amount, incident_code in rows:
        entry = grouped[(kinds.get(key, kind), incident_code)]
        entry[0] += 1
        entry[1] += _signed(reserve_id, credit_id, amount)
    order = {"funding": 0, "replenishment": 1, "draw": 2}
    body = [
        (kind, incident, n, amount)
        for (kind, incident), (n, amount) in sorted(grouped.items(), key=lambda i: (order.get(i[0][0], 3), i[0]))
    ]
    closing = opening + sum(row[3] for row in body)
    return Section(
        "Reserve movements",
        ["movement", "incident", "transfers", "JPY (+ in, - out)"],
        [("opening balance", "", "", opening), *body, ("closing balance", "", "", closing)],
        note="From the ledger: fundings and replenishments into the liability reserve, draws out of it per incident.",
    )


def _settlements_section(start: dt.datetime, end: dt.datetime) -> Section:
    policies = {p.account_id: p for p in InsurancePolicy.objects.all()}
    rows = (
        Transfer.objects.filter(kind="settlement", created_at__gte=start, created_at__lt=end)
        .values("credit_account_id", "incident_code")
        .annotate(n=Count("id"), s=Sum("amount_jpy"))
        .order_by()
        .values_list("credit_account_id", "incident_code", "n", "s")
    )
    recoveries = {(r.policy_id, r.fund.incident_code): r for r in RecoveryClaim.objects.select_related("fund")}
    body = []
    for account_id, incident_code, n, amount in rows:
        policy = policies.get(account_id)
        if policy is None:
            continue
        recovery = recoveries.get((policy.pk, incident_code))
        body.append(
            (
                policy.insurer,
                policy.policy_number,
                policy.layer_order,
                incident_code,
                n,
                int(amount),
                recovery.settled_jpy if recovery else None,
                recovery.amount_claimed_jpy if recovery else None,
                recovery.status if recovery else "",
            )
        )
    body.sort(key=lambda row: (row[2], row[1], row[3]))
    return Section(
        "Insurance recoveries settled",
        [
            "insurer",
            "policy",
            "layer",
            "incident",
            "settlements",
            "settled in period (JPY)",
            "settled to date (JPY)",
            "claimed (JPY)",
            "status now",
        ],
        body,
    )
