"""Reads of the reserves app: reconciliation, the reserve position, the funding panel, payout lists, replays."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import TruncDate
from django.utils import timezone

from config.errors import NotFound
from reserves import ledger
from reserves.allocation import draw_segments
from reserves.models import (
    Account,
    Allocation,
    CustodyValuation,
    Entitlement,
    IncidentFund,
    InsurancePolicy,
    Payout,
    RecoveryClaim,
    ReserveFunding,
    Transfer,
)
from reserves.waterfall import claimant_target, rate_of, waterfall_replay

# --- Reconciliation ---------------------------------------------------------------------------------


@dataclass
class ReconcileReport:
    ok: bool
    accounts_checked: int
    total_jpy: int
    problems: list[str] = field(default_factory=list)


def ledger_reconcile() -> ReconcileReport:
    """Check every balance against its transfers, that balances sum to zero, and that each incident's money adds up.

    Per incident: paid + allocated + in hand = reserve draws + insurance draws;
    paid equals the paid payouts; allocated equals the unpaid payouts; each
    source's share of the payouts is within what was drawn from it.
    """
    problems: list[str] = []
    credits = dict(
        Transfer.objects.values("credit_account").annotate(s=Sum("amount_jpy")).values_list("credit_account", "s")
    )
    debits = dict(
        Transfer.objects.values("debit_account").annotate(s=Sum("amount_jpy")).values_list("debit_account", "s")
    )
    accounts = list(Account.objects.order_by("id"))
    total = 0
    for account in accounts:
        expected = int(credits.get(account.id) or 0) - int(debits.get(account.id) or 0)
        total += account.balance_jpy
        if account.balance_jpy != expected:
            problems.append(
                f"account {account.code}: balance ¥{account.balance_jpy:,} but its transfers sum to ¥{expected:,}"
            )
    if total != 0:
        problems.append(f"all balances sum to ¥{total:,}, not zero")
    for fund in IncidentFund.objects.select_related("pool_account", "allocated_account", "paid_account"):
        problems.extend(_fund_reconcile(fund))
    return ReconcileReport(ok=not problems, accounts_checked=len(accounts), total_jpy=total, problems=problems)


# Payout statuses whose money sits in the incident's allocated account (a resent payout's money is its resend's).
UNPAID_IN_ALLOCATED = ("pending", "submitted", "failed", "returned")


def _fund_reconcile(fund: IncidentFund) -> list[str]:
    problems = []
    code = fund.incident_code
    segments = draw_segments(fund=fund)
    drawn: dict[str, int] = defaultdict(int)
    for key, amount in segments:
        drawn[key] += amount
    pool, allocated, paid = fund.pool_account, fund.allocated_account, fund.paid_account
    unclaimed = Account.objects.filter(code=f"unclaimed:{code}").values_list("balance_jpy", flat=True).first() or 0
    if paid.balance_jpy + allocated.balance_jpy + pool.balance_jpy + unclaimed != sum(drawn.values()):
        problems.append(
            f"account {paid.code}: paid ¥{paid.balance_jpy:,} + allocated ¥{allocated.balance_jpy:,} + in hand "
            f"¥{pool.balance_jpy:,} + unclaimed ¥{unclaimed:,} differs from reserve and insurance draws "
            f"¥{sum(drawn.values()):,}"
        )
    by_status = dict(fund.payouts.values("status").annotate(s=Sum("amount_jpy")).values_list("status", "s"))
    paid_payouts = int(by_status.get("paid") or 0)
    unpaid_payouts = sum(int(by_status.get(k) or 0) for k in UNPAID_IN_ALLOCATED)
    unclaimed_payouts = int(by_status.get("unclaimed") or 0)
    if paid.balance_jpy != paid_payouts:
        problems.append(f"account {paid.code}: ¥{paid.balance_jpy:,} but paid payouts total ¥{paid_payouts:,}")
    if allocated.balance_jpy != unpaid_payouts:
        problems.append(
            f"account {allocated.code}: ¥{allocated.balance_jpy:,} but unpaid payouts total ¥{unpaid_payouts:,}"
        )
    if unclaimed != unclaimed_payouts:
        problems.append(f"account unclaimed:{code}: ¥{unclaimed:,} but unclaimed payouts total ¥{unclaimed_payouts:,}")
    # Returned and resent money: every resent payout has exactly one resend, of the same amount.
    orphans = fund.payouts.filter(status="resent", resend__isnull=True).count()
    if orphans:
        problems.append(f"{code}: {orphans} resent payout(s) without their resend")
    mismatched = fund.payouts.filter(resend_of__isnull=False).exclude(amount_jpy=F("resend_of__amount_jpy")).count()
    if mismatched:
        problems.append(f"{code}: {mismatched} resend(s) of another amount than the returned payout")
    sums = fund.entitlements.aggregate(allocated=Sum("allocated_jpy"))
    if int(sums["allocated"] or 0) != paid.balance_jpy + allocated.balance_jpy + unclaimed:
        problems.append(f"account {allocated.code}: entitlements record ¥{int(sums['allocated'] or 0):,} allocated")
    for key, amount in _payout_sources(fund).items():
        if amount > drawn.get(key, 0):
            problems.append(f"{code}: payouts attribute ¥{amount:,} to {key}, which provided ¥{drawn.get(key, 0):,}")
    return problems


@dataclass(frozen=True)
class SourceTotal:
    count: int
    amount_jpy: int


def source_totals(*, payouts: QuerySet[Payout], by_fund: bool = False) -> dict:
    """Payouts and yen per source key over `payouts`: {key: SourceTotal}, or {(fund_id, key): SourceTotal}.

    On PostgreSQL one query expands each payout's breakdown (jsonb_each_text)
    and groups; elsewhere Python adds the breakdowns up.
    """
    rows = payouts.order_by().values("fund_id", "breakdown")
    totals: dict = {}
    if connection.vendor == "postgresql":
        try:
            inner, params = rows.query.get_compiler(connection=connection).as_sql()
        except EmptyResultSet:  # e.g. `fund_id__in` an empty set: nothing to add up
            return totals
        group = "s.fund_id, b.key" if by_fund else "b.key"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {group}, COUNT(*), SUM(b.value::bigint) FROM ({inner}) s "
                f"CROSS JOIN LATERAL jsonb_each_text(s.breakdown) b GROUP BY {group}",
                params,
            )
            for *key, count, amount in cursor.fetchall():
                totals[tuple(key) if by_fund else key[0]] = SourceTotal(int(count), int(amount))
        return totals
    counts: dict = defaultdict(int)
    amounts: dict = defaultdict(int)
    for fund_id, breakdown in rows.values_list("fund_id", "breakdown").iterator(chunk_size=2000):
        for key, amount in breakdown.items():
            name = (fund_id, key) if by_fund else key
            counts[name] += 1
            amounts[name] += int(amount)
    return {name: SourceTotal(counts[name], amounts[name]) for name in counts}


def _payout_sources(fund: IncidentFund, *, status: str | None = None) -> dict[str, int]:
    """Yen per source key ("reserve", "policy:<number>") over the fund's payouts (of one status, if given)."""
    # A resent payout's sources are counted once, on its resend.
    payouts = fund.payouts.filter(status=status) if status else fund.payouts.exclude(status="resent")
    return {key: total.amount_jpy for key, total in source_totals(payouts=payouts).items()}


def paid_by_source(*, fund: IncidentFund) -> dict[str, int]:
    """What each source ("reserve", "policy:<number>") has borne in payouts that reached claimants."""
    return _payout_sources(fund, status=Payout.Status.PAID)


def paid_per_day(*, fund: IncidentFund) -> list[tuple[dt.date, int]]:
    """Yen paid to claimants per day (local time), oldest first; days without payments are left out."""
    rows = (
        fund.payouts.filter(status=Payout.Status.PAID)
        .annotate(day=TruncDate("paid_at"))
        .values("day")
        .annotate(total=Sum("amount_jpy"))
        .order_by("day")
        .values_list("day", "total")
    )
    return [(day, int(total)) for day, total in rows]


def paid_reached_at(*, fund: IncidentFund, amount_jpy: int) -> dt.datetime | None:
    """When the running total of paid payouts first reached `amount_jpy` (None if it has not yet)."""
    if amount_jpy <= 0:
        return None
    running = Window(Sum("amount_jpy"), order_by=[F("paid_at").asc(), F("id").asc()])
    return (
        fund.payouts.filter(status=Payout.Status.PAID)
        .annotate(running=running)
        .filter(running__gte=amount_jpy)
        .order_by("paid_at", "id")
        .values_list("paid_at", flat=True)
        .first()
    )


def first_paid_at(*, fund: IncidentFund) -> dt.datetime | None:
    return fund.payouts.filter(status=Payout.Status.PAID).order_by("paid_at").values_list("paid_at", flat=True).first()


# --- The reserve -----------------------------------------------------------------------------------------


class AgainstMinimum:
    """A reserve balance beside its required minimum (ReservePosition now, ReservePoint per day)."""

    balance_jpy: int
    required_jpy: int

    @property
    def below_minimum(self) -> bool:
        return self.balance_jpy < self.required_jpy

    @property
    def gap_jpy(self) -> int:
        return max(0, self.required_jpy - self.balance_jpy)


@dataclass(frozen=True)
class ReservePosition(AgainstMinimum):
    balance_jpy: int
    floor_jpy: int
    custody_percent: Decimal
    custody_value_jpy: int
    custody_as_of: dt.datetime | None
    required_jpy: int
    drawn_for_incidents_jpy: int


def reserve_position() -> ReservePosition:
    """The reserve balance against its required minimum (floor + a percentage of customer assets in custody)."""
    reserve = ledger.reserve_account()
    valuation = CustodyValuation.objects.first()
    percent = Decimal(settings.RESERVE_MINIMUM_CUSTODY_PERCENT)
    custody = valuation.value_jpy if valuation else 0
    drawn = Transfer.objects.filter(debit_account=reserve, kind="draw").aggregate(s=Sum("amount_jpy"))["s"] or 0
    return ReservePosition(
        balance_jpy=reserve.balance_jpy,
        floor_jpy=settings.RESERVE_MINIMUM_FLOOR_JPY,
        custody_percent=percent,
        custody_value_jpy=custody,
        custody_as_of=valuation.as_of if valuation else None,
        required_jpy=reserve_required_jpy(custody_value_jpy=custody),
        drawn_for_incidents_jpy=int(drawn),
    )


def reserve_required_jpy(*, custody_value_jpy: int) -> int:
    """The required minimum: the floor plus RESERVE_MINIMUM_CUSTODY_PERCENT % of custody (truncated to the yen)."""
    percent = Decimal(settings.RESERVE_MINIMUM_CUSTODY_PERCENT)
    custody_part = int((Decimal(custody_value_jpy) * percent / 100).to_integral_value(rounding=ROUND_DOWN))
    return settings.RESERVE_MINIMUM_FLOOR_JPY + custody_part


def reserve_history(*, limit: int = 200) -> list[tuple[dt.datetime, int]]:
    """(time, balance after) for the reserve's latest transfers, oldest first: the chart's points."""
    reserve = ledger.reserve_account()
    rows = list(
        Transfer.objects.filter(Q(debit_account=reserve) | Q(credit_account=reserve))
        .order_by("-id")
        .values_list("created_at", "credit_account_id", "amount_jpy")[:limit]
    )
    balance = reserve.balance_jpy
    points = []
    for created_at, credit_id, amount in rows:
        points.append((created_at, balance))
        balance -= amount if credit_id == reserve.id else -amount
    points.append((rows[-1][0] if rows else timezone.now(), balance))
    return list(reversed(points))


def funding_list(*, status: str | None = None) -> QuerySet[ReserveFunding]:
    queryset = ReserveFunding.objects.all()
    return queryset.filter(status=status) if status else queryset


def funding_get(*, funding_id: int) -> ReserveFunding:
    funding = ReserveFunding.objects.filter(pk=funding_id).first()
    if funding is None:
        raise NotFound("not_found", "No such funding request.")
    return funding


def policy_list() -> QuerySet[InsurancePolicy]:
    return (
        InsurancePolicy.objects.select_related("account")
        .annotate(claimed_jpy=Sum("recoveries__amount_claimed_jpy"), settled_jpy=Sum("recoveries__settled_jpy"))
        .order_by("layer_order", "id")
    )


# --- Incident funds -----------------------------------------------------------------------------------


def fund_list() -> QuerySet[IncidentFund]:
    return IncidentFund.objects.select_related("paid_account", "pool_account", "allocated_account").annotate(
        claimants=Count("entitlements", distinct=True)
    )


def fund_get(*, incident_code: str) -> IncidentFund:
    fund = IncidentFund.objects.select_related("pool_account", "allocated_account", "paid_account").filter(
        incident_code=incident_code
    )
    found = fund.first()
    if found is None:
        raise NotFound("not_found", f"No incident fund for {incident_code}.")
    return found


@dataclass
class Source:
    key: str
    label: str
    planned_jpy: int
    received_jpy: int


@dataclass
class FundSummary:
    fund: IncidentFund
    allocation: Allocation | None
    claimants: int
    registered_jpy: int
    loss_basis_jpy: int
    sources: list[Source]
    shortfall_jpy: int
    planned_rate: Decimal
    paid_rate: Decimal
    funds_in_hand_jpy: int
    allocated_jpy: int
    paid_jpy: int
    outstanding_jpy: int
    payouts_by_status: dict[str, int]
    failed_count: int
    recoveries: list[RecoveryClaim]
    rounds: list[Allocation]


def fund_summary(*, fund: IncidentFund) -> FundSummary:
    """Everything the incident funding panel shows."""
    allocation = fund.allocations.order_by("-seq").first()
    stats = fund.entitlements.aggregate(count=Count("id"), eligible=Sum("eligible_jpy"), allocated=Sum("allocated_jpy"))
    registered = int(stats["eligible"] or 0)
    loss_basis = max(fund.expected_loss_jpy, registered)
    received: dict[str, int] = defaultdict(int)
    for key, amount in draw_segments(fund=fund):
        received[key] += amount
    planned = dict((allocation.result["waterfall"]["policies"]) if allocation else [])
    reserve_planned = allocation.result["waterfall"]["reserve_jpy"] if allocation else 0
    sources = [Source("reserve", "Liability reserve", reserve_planned, received.get("reserve", 0))]
    for policy in InsurancePolicy.objects.filter(policy_number__in=planned.keys()).order_by("layer_order", "id"):
        key = f"policy:{policy.policy_number}"
        sources.append(
            Source(key, f"{policy.insurer} {policy.policy_number}", planned[policy.policy_number], received.get(key, 0))
        )
    by_status = dict(fund.payouts.values("status").annotate(n=Count("id")).values_list("status", "n"))
    paid = Account.objects.get(pk=fund.paid_account_id).balance_jpy
    return FundSummary(
        fund=fund,
        allocation=allocation,
        claimants=stats["count"],
        registered_jpy=registered,
        loss_basis_jpy=loss_basis,
        sources=sources,
        shortfall_jpy=allocation.result["waterfall"]["shortfall_jpy"] if allocation else loss_basis,
        planned_rate=Decimal(allocation.result["planned_rate"]) if allocation else Decimal(0),
        paid_rate=rate_of(allocation.level_jpy, allocation.loss_basis_jpy) if allocation else Decimal(0),
        funds_in_hand_jpy=sum(received.values()),
        allocated_jpy=int(stats["allocated"] or 0),
        paid_jpy=paid,
        outstanding_jpy=registered - paid,
        payouts_by_status=by_status,
        failed_count=by_status.get("failed", 0),
        recoveries=list(fund.recoveries.select_related("policy").order_by("policy__layer_order", "id")),
        rounds=list(fund.allocations.order_by("-seq")[:20]),
    )


@dataclass(frozen=True)
class ReplayCheck:
    ok: bool
    payouts_checked: int
    problems: list[str]


def allocation_replay(*, allocation: Allocation, limit: int = 1000) -> ReplayCheck:
    """Replay a round from what was stored: the waterfall from its inputs, and each claimant's amount from the rule."""
    problems = []
    again = waterfall_replay(allocation.inputs["waterfall"]).as_dict()
    if again != allocation.result["waterfall"]:
        problems.append(
            f"round {allocation.seq}: the waterfall replays to {again}, stored {allocation.result['waterfall']}"
        )
    payouts = list(allocation.payouts.select_related("entitlement").order_by("id")[:limit])
    earlier = dict(
        Payout.objects.filter(
            entitlement_id__in=[p.entitlement_id for p in payouts], allocation__seq__lt=allocation.seq
        )
        .values("entitlement")
        .annotate(s=Sum("amount_jpy"))
        .values_list("entitlement", "s")
    )
    for p in payouts:
        before = int(earlier.get(p.entitlement_id) or 0)
        target = claimant_target(
            eligible_jpy=p.entitlement.eligible_jpy,
            base_jpy=p.entitlement.base_jpy,
            level_jpy=allocation.level_jpy,
            base_total_jpy=allocation.base_total_jpy,
            loss_basis_jpy=allocation.loss_basis_jpy,
        )
        if before + p.amount_jpy != max(before, target):
            problems.append(f"payout {p.pk} ({p.claim_ref}): ¥{p.amount_jpy:,} but the rule gives ¥{target - before:,}")
    return ReplayCheck(ok=not problems, payouts_checked=len(payouts), problems=problems[:20])


# --- Payouts --------------------------------------------------------------------------------------------

PAYOUT_SORTS = {
    "newest": "-id",
    "oldest": "id",
    "amount": "-amount_jpy",
    "attempts": "-attempts",
    "claim": "claim_ref",
}


def payout_list(
    *,
    incident_code: str | None = None,
    status: str | None = None,
    method: str | None = None,
    rail: str | None = None,
    search: str | None = None,
    sort: str | None = None,
) -> QuerySet[Payout]:
    queryset = Payout.objects.select_related("fund", "allocation", "entitlement")
    if incident_code:
        queryset = queryset.filter(fund__incident_code=incident_code)
    if status:
        queryset = queryset.filter(status=status)
    if method:
        queryset = queryset.filter(method=method)
    if rail:
        queryset = queryset.filter(rail=rail)
    if search:
        queryset = queryset.filter(
            Q(claim_ref__icontains=search) | Q(entitlement__customer_account_id__icontains=search)
        )
    return queryset.order_by(PAYOUT_SORTS.get(sort or "newest", "-id"))


def payout_get(*, payout_id: int) -> Payout:
    payout = Payout.objects.select_related("fund", "allocation", "entitlement").filter(pk=payout_id).first()
    if payout is None:
        raise NotFound("not_found", "No such payout.")
    return payout


def recovery_get(*, recovery_id: int) -> RecoveryClaim:
    recovery = RecoveryClaim.objects.select_related("fund", "policy").filter(pk=recovery_id).first()
    if recovery is None:
        raise NotFound("not_found", "No such recovery claim.")
    return recovery


def entitlement_payouts(*, claim_ref: str) -> QuerySet[Payout]:
    """A claim's payouts, oldest first (for claims to show a customer)."""
    return Payout.objects.filter(claim_ref=claim_ref).order_by("id")


def entitlement_get(*, claim_ref: str) -> Entitlement | None:
    return Entitlement.objects.filter(claim_ref=claim_ref).first()


def paid_by_claim(*, incident_code: str | None = None) -> dict[str, int]:
    """claim_ref -> yen paid so far (the sum of its paid payouts)."""
    queryset = Payout.objects.filter(status=Payout.Status.PAID)
    if incident_code:
        queryset = queryset.filter(fund__incident_code=incident_code)
    return dict(queryset.values("claim_ref").annotate(s=Sum("amount_jpy")).values_list("claim_ref", "s"))


def entitlement_amounts(*, claim_refs: list[str]) -> dict[str, int]:
    """claim_ref -> eligible yen, for the given claims that have an entitlement."""
    amounts: dict[str, int] = {}
    for start in range(0, len(claim_refs), 5000):
        amounts.update(
            Entitlement.objects.filter(claim_ref__in=claim_refs[start : start + 5000]).values_list(
                "claim_ref", "eligible_jpy"
            )
        )
    return amounts


def entitlements_by_ref() -> QuerySet[Entitlement]:
    """All entitlements, for callers that join them to their claims by reference (a subquery)."""
    return Entitlement.objects.all()


def paid_payouts() -> QuerySet[Payout]:
    """Payouts that reached their claimant, for callers that join them by claim reference."""
    return Payout.objects.filter(status=Payout.Status.PAID)
