"""Reads of incident funds: the funding panel's summary, what each source bore, payments over time, round replays."""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, fields
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, F, QuerySet, Sum, Window
from django.db.models.functions import TruncDate
from django.utils.translation import gettext

from core.errors import NotFound
from reserves.engine.pool import draw_segments
from reserves.engine.population import population_read
from reserves.models import Account, Allocation, IncidentFund, InsurancePolicy, Payout, RecoveryClaim
from reserves.selectors import figures
from reserves.waterfall import Population, claimant_target, population_replay, rate_of, waterfall_replay


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


def fund_payout_sources(fund: IncidentFund, *, status: str | None = None) -> dict[str, int]:
    """Yen per source key ("reserve", "policy:<number>") over the fund's payouts (of one status, if given)."""
    # A resent payout's sources are counted once, on its resend.
    payouts = fund.payouts.filter(status=status) if status else fund.payouts.exclude(status="resent")
    return {key: total.amount_jpy for key, total in source_totals(payouts=payouts).items()}


def paid_by_source(*, fund: IncidentFund) -> dict[str, int]:
    """What each source ("reserve", "policy:<number>") has borne in payouts that reached claimants."""
    if figures.maintained():
        return figures.paid_by_source(fund=fund)
    return fund_payout_sources(fund, status=Payout.Status.PAID)


def paid_timeline(*, fund: IncidentFund, milestone_jpy: int = 0) -> figures.PaidTimeline:
    """First payment, the payment that reached `milestone_jpy` (None until then, or when not positive), and yen
    paid per day (local time, oldest first, days without payments left out): one read of the kept figures."""
    if figures.maintained():
        return figures.paid_timeline(fund=fund, milestone_jpy=milestone_jpy)
    paid = fund.payouts.filter(status=Payout.Status.PAID)
    first = paid.order_by("paid_at").values_list("paid_at", flat=True).first()
    reached = None
    if milestone_jpy > 0:
        running = Window(Sum("amount_jpy"), order_by=[F("paid_at").asc(), F("id").asc()])
        reached = (
            paid.annotate(running=running)
            .filter(running__gte=milestone_jpy)
            .order_by("paid_at", "id")
            .values_list("paid_at", flat=True)
            .first()
        )
    days = (
        paid.annotate(day=TruncDate("paid_at"))
        .values("day")
        .annotate(total=Sum("amount_jpy"))
        .order_by("day")
        .values_list("day", "total")
    )
    return figures.PaidTimeline(first, reached, [(day, int(total)) for day, total in days])


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
        raise NotFound("not_found", gettext("No incident fund for %(code)s.") % {"code": incident_code})
    return found


@dataclass
class Source:
    key: str
    label: str
    planned_jpy: int
    received_jpy: int


@dataclass
class FundFigures:
    """An incident fund's money at a glance: what the regulator's summary shows (no per-round or per-payout lists)."""

    fund: IncidentFund
    allocation: Allocation | None
    claimants: int
    registered_jpy: int
    loss_basis_jpy: int
    # The population the rates are computed over now (docs/money.md): held back for undecided and appealed
    # claims, and what the fund still expects beyond every claim it knows of.
    population: Population
    sources: list[Source]
    shortfall_jpy: int
    planned_rate: Decimal
    paid_rate: Decimal
    funds_in_hand_jpy: int  # the pool's balance: received and not yet allocated to a payout
    received_jpy: int  # everything drawn into the pool so far (reserve and insurers)
    allocated_jpy: int
    paid_jpy: int
    outstanding_jpy: int


@dataclass
class FundSummary(FundFigures):
    """Everything the incident funding panel shows: the figures, and payouts by status, recoveries and rounds."""

    payouts_by_status: dict[str, int]
    failed_count: int
    recoveries: list[RecoveryClaim]
    rounds: list[Allocation]
    settings_fixed: bool  # payments have started: base amount and expectations can no longer change


def fund_figures(*, fund: IncidentFund) -> FundFigures:
    """An incident fund's figures: what is registered, received, allocated and paid, and at what rates."""
    allocation = fund.allocations.order_by("-seq").first()
    if figures.maintained():
        kept = figures.fund_totals(fund=fund)
        stats = {"count": kept["entitlements"], "eligible": kept["eligible_jpy"], "allocated": kept["allocated_jpy"]}
        people = figures.population(fund=fund, totals=kept)
    else:
        stats = fund.entitlements.aggregate(
            count=Count("id"), eligible=Sum("eligible_jpy"), allocated=Sum("allocated_jpy")
        )
        people = population_read(fund=fund)[2]
    registered = int(stats["eligible"] or 0)
    loss_basis = people.loss_basis_jpy
    received: dict[str, int] = defaultdict(int)
    for key, amount in draw_segments(fund=fund):
        received[key] += amount
    planned = dict((allocation.result["waterfall"]["policies"]) if allocation else [])
    reserve_planned = allocation.result["waterfall"]["reserve_jpy"] if allocation else 0
    sources = [Source("reserve", gettext("Liability reserve"), reserve_planned, received.get("reserve", 0))]
    for policy in InsurancePolicy.objects.filter(policy_number__in=planned.keys()).order_by("layer_order", "id"):
        key = f"policy:{policy.policy_number}"
        sources.append(
            Source(key, f"{policy.insurer} {policy.policy_number}", planned[policy.policy_number], received.get(key, 0))
        )
    balances = dict(
        Account.objects.filter(pk__in=[fund.paid_account_id, fund.pool_account_id]).values_list("pk", "balance_jpy")
    )
    paid = balances[fund.paid_account_id]
    return FundFigures(
        fund=fund,
        allocation=allocation,
        claimants=stats["count"],
        registered_jpy=registered,
        loss_basis_jpy=loss_basis,
        population=people,
        sources=sources,
        shortfall_jpy=allocation.result["waterfall"]["shortfall_jpy"] if allocation else loss_basis,
        planned_rate=Decimal(allocation.result["planned_rate"]) if allocation else Decimal(0),
        paid_rate=rate_of(allocation.level_jpy, allocation.loss_basis_jpy) if allocation else Decimal(0),
        funds_in_hand_jpy=balances[fund.pool_account_id],
        received_jpy=sum(received.values()),
        allocated_jpy=int(stats["allocated"] or 0),
        paid_jpy=paid,
        outstanding_jpy=registered - paid,
    )


def fund_summary(*, fund: IncidentFund) -> FundSummary:
    """Everything the incident funding panel shows."""
    base = fund_figures(fund=fund)
    if figures.maintained():
        by_status = {status: count for status, (count, _amount) in figures.status_totals(fund=fund).items()}
    else:
        by_status = dict(fund.payouts.values("status").annotate(n=Count("id")).values_list("status", "n"))
    return FundSummary(
        **{field.name: getattr(base, field.name) for field in fields(FundFigures)},
        payouts_by_status=by_status,
        failed_count=by_status.get("failed", 0),
        recoveries=list(fund.recoveries.select_related("policy").order_by("policy__layer_order", "id")),
        rounds=list(fund.allocations.order_by("-seq")[:20]),
        settings_fixed=bool(by_status) or fund.payouts.exists(),
    )


@dataclass(frozen=True)
class ReplayCheck:
    ok: bool
    payouts_checked: int
    rounds_checked: int
    problems: list[str]


REPLAY_CHUNK = 5000


def _round_replay(allocation: Allocation) -> list[str]:
    """The stored waterfall and population of a round, computed again from its stored inputs."""
    problems = []
    again = waterfall_replay(allocation.inputs["waterfall"]).as_dict()
    if again != allocation.result["waterfall"]:
        problems.append(
            f"round {allocation.seq}: the waterfall replays to {again}, stored {allocation.result['waterfall']}"
        )
    claimants = allocation.inputs["claimants"]
    if "registered_base_jpy" in claimants:  # rounds made before rule population/1 stored only their totals
        people = population_replay(claimants)
        if (people.loss_basis_jpy, people.base_total_jpy) != (allocation.loss_basis_jpy, allocation.base_total_jpy):
            problems.append(
                f"round {allocation.seq}: the population replays to loss basis ¥{people.loss_basis_jpy:,} and "
                f"base total ¥{people.base_total_jpy:,}, stored ¥{allocation.loss_basis_jpy:,} and "
                f"¥{allocation.base_total_jpy:,}"
            )
    return problems


def allocation_replay(*, fund: IncidentFund, progress: Callable[[int], None] | None = None) -> ReplayCheck:
    """Replay an incident from what was stored: every round's waterfall and population, and every payout.

    Each payout is recomputed from the rule: the claimant's target at its
    round (level, base total, loss basis, base amount) for the eligible amount
    the payout recorded, less what the claimant had before that round. The
    payouts are streamed in (entitlement, round) order with a server-side
    cursor, so memory stays flat however many there are; each claimant's
    payouts must also add up to what is allocated to them. `progress` is
    called with the number of payouts checked after each chunk.

    Long on purpose: one pass over a streamed cursor carrying each claimant's running
    total; split up, that state would have to travel between the pieces.
    """
    problems: list[str] = []
    rounds = {}
    for allocation in fund.allocations.order_by("seq").iterator(chunk_size=500):
        problems += _round_replay(allocation)
        base_amount = allocation.inputs["claimants"].get("base_amount_jpy", 0)
        rounds[allocation.pk] = (
            allocation.seq,
            allocation.level_jpy,
            allocation.base_total_jpy,
            allocation.loss_basis_jpy,
            base_amount,
        )
    rows = (
        Payout.objects.filter(fund=fund)
        .order_by("entitlement_id", "allocation_id", "id")
        .values_list(
            "id",
            "entitlement_id",
            "allocation_id",
            "claim_ref",
            "amount_jpy",
            "eligible_jpy",
            "entitlement__eligible_jpy",
            "entitlement__allocated_jpy",
            "resend_of_id",
        )
    )
    amounts: dict[int, int] = {}
    checked, current, before, allocated, last_ref = 0, None, 0, 0, ""
    for (
        pk,
        entitlement_id,
        allocation_id,
        claim_ref,
        amount,
        eligible,
        eligible_now,
        allocated_now,
        resend_of,
    ) in rows.iterator(chunk_size=REPLAY_CHUNK):
        if entitlement_id != current:
            if current is not None and before != allocated:
                problems.append(f"claim {last_ref}: payouts add up to ¥{before:,}, allocated ¥{allocated:,}")
            current, before, allocated, last_ref, amounts = entitlement_id, 0, allocated_now, claim_ref, {}
        amounts[pk] = amount
        checked += 1
        if resend_of is not None:  # a returned payout sent again: the same money, not a new share
            if amounts.get(resend_of) != amount:
                problems.append(f"payout {pk} ({claim_ref}): resends ¥{amount:,}, not what payout {resend_of} was")
            continue
        seq, level, base_total, loss_basis, base_amount = rounds[allocation_id]
        e = eligible if eligible is not None else eligible_now
        target = claimant_target(
            eligible_jpy=e,
            base_jpy=min(e, base_amount),
            level_jpy=level,
            base_total_jpy=base_total,
            loss_basis_jpy=loss_basis,
        )
        if before + amount != max(before, target):
            problems.append(
                f"payout {pk} ({claim_ref}, round {seq}): ¥{amount:,} but the rule gives ¥{target - before:,}"
            )
        before += amount
        if progress and checked % REPLAY_CHUNK == 0:
            progress(checked)
    if current is not None and before != allocated:
        problems.append(f"claim {last_ref}: payouts add up to ¥{before:,}, allocated ¥{allocated:,}")
    if progress:
        progress(checked)
    return ReplayCheck(ok=not problems, payouts_checked=checked, rounds_checked=len(rounds), problems=problems[:20])
