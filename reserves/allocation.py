"""The payout engine: allocation rounds, chunked allocation, disbursement through the rails, recording results.

Flow (README "Payout workflow"):

1. `allocation_run` (fund row locked FOR UPDATE): admits newly registered
   entitlements, runs the waterfall over the loss basis, draws the reserve's
   share into the incident's pool, opens or updates the insurers' recovery
   claims, and stores a new round (inputs and results) when anything changed.
2. `payouts_allocate_chunk` (one transaction per chunk; the fund row FOR
   SHARE so a new round waits for running chunks): takes entitlements behind
   the current round with SELECT ... FOR UPDATE SKIP LOCKED, brings each up to
   its target at the round's level, creates one payout per claimant with an
   idempotency key "<claim_ref>:r<round>", and moves the sum from the pool to
   the allocated account. Its payouts are leased to the caller for sending.
3. `instructions_send`: sends the leased payouts through their rails (outside
   any transaction), then `payouts_record` applies the results in one transaction:
   paid (ledger transfer allocated -> paid, signals), submitted, retry with
   exponential backoff, or failed after PAYOUT_MAX_ATTEMPTS.

Lock order everywhere: fund, policies, recovery claims, payouts, entitlements,
ledger accounts (by id), audit tree head.
"""

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.db.models.functions import Greatest
from django.utils import timezone

from audit.services import Actor, EventInput, event_record, events_record
from config.errors import NotFound
from reserves import ledger, signals
from reserves.bulk import ids_reserve, rows_insert, rows_update
from reserves.models import (
    Account,
    Allocation,
    Entitlement,
    IncidentFund,
    InsurancePolicy,
    Payout,
    RecoveryClaim,
    Transfer,
)
from reserves.rails import Instruction, RailResult, rail_get, rail_name_for
from reserves.receipts import receipts_queue
from reserves.waterfall import (
    RULE_VERSION,
    PolicyTerms,
    Population,
    claimant_target,
    population_replay,
    rate_of,
    rate_text,
    waterfall,
    waterfall_inputs,
)

logger = logging.getLogger(__name__)
IN_KIND_PLACES = Decimal("0.00000001")


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day and time `months` later (the month's last day when it is shorter)."""
    import calendar

    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def draw_segments(*, fund: IncidentFund) -> list[tuple[str, int]]:
    """The money drawn into the incident's pool, in order: [("reserve", 900), ("policy:TM-1", 300), ...]."""
    reserve_id = ledger.reserve_account().id
    rows = list(
        Transfer.objects.filter(credit_account_id=fund.pool_account_id)
        .order_by("id")
        .values_list("debit_account_id", "amount_jpy")
    )
    numbers = dict(
        InsurancePolicy.objects.filter(account_id__in={a for a, _ in rows}).values_list("account_id", "policy_number")
    )
    return [("reserve" if a == reserve_id else f"policy:{numbers.get(a, a)}", amount) for a, amount in rows]


def _split(position: int, amount: int, segments: list[tuple[str, int]]) -> dict[str, int]:
    """Which sources the money in [position, position + amount) of the pool came from."""
    result: dict[str, int] = defaultdict(int)
    start = 0
    for key, size in segments:
        end = start + size
        overlap = min(end, position + amount) - max(start, position)
        if overlap > 0:
            result[key] += overlap
        start = end
    if sum(result.values()) != amount:
        raise RuntimeError("allocation beyond the funds drawn into the pool")
    return dict(result)


def _targets_total(*, fund_id: int, level: int, base_total: int, loss_basis: int) -> int:
    """Sum over admitted entitlements of max(already allocated, target at `level`)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT COALESCE(SUM(GREATEST(allocated_jpy, CASE
                    WHEN %(level)s >= %(loss)s THEN eligible_jpy
                    WHEN %(level)s <= %(base)s THEN
                        CASE WHEN %(base)s = 0 THEN 0 ELSE div(base_jpy::numeric * %(level)s, %(base)s) END
                    ELSE base_jpy
                        + div((eligible_jpy - base_jpy)::numeric * (%(level)s - %(base)s), %(loss)s - %(base)s)
                END)), 0)
                FROM reserves_entitlement WHERE fund_id = %(fund)s AND admitted_round IS NOT NULL
                """,
                {"level": level, "loss": loss_basis, "base": base_total, "fund": fund_id},
            )
            return int(cursor.fetchone()[0])
    rows = Entitlement.objects.filter(fund_id=fund_id, admitted_round__isnull=False).values_list(
        "eligible_jpy", "base_jpy", "allocated_jpy"
    )
    return sum(
        max(
            a,
            claimant_target(
                eligible_jpy=e, base_jpy=b, level_jpy=level, base_total_jpy=base_total, loss_basis_jpy=loss_basis
            ),
        )
        for e, b, a in rows
    )


def _level(*, fund_id: int, funds: int, base_total: int, loss_basis: int) -> int:
    """The highest level <= funds whose targets (never below what is already allocated) fit in the funds."""
    level = min(funds, loss_basis)
    if _targets_total(fund_id=fund_id, level=level, base_total=base_total, loss_basis=loss_basis) <= funds:
        return level
    low, high = 0, level
    while low < high:
        middle = (low + high + 1) // 2
        if _targets_total(fund_id=fund_id, level=middle, base_total=base_total, loss_basis=loss_basis) <= funds:
            low = middle
        else:
            high = middle - 1
    return low


def _policies_lock(fund: IncidentFund) -> list[tuple[InsurancePolicy, int]]:
    """Policies in force at detection, locked in id order, with what other incidents already claimed of each."""
    policies = list(
        InsurancePolicy.objects.select_for_update(of=("self",), no_key=True)
        .filter(period_start__lte=fund.detected_at, period_end__gt=fund.detected_at)
        .order_by("id")
    )
    used = policy_aggregate_used(policy_ids=[p.pk for p in policies], exclude_fund_id=fund.pk)
    return [(p, used.get(p.pk, 0)) for p in policies]


def policy_aggregate_used(*, policy_ids: list[int] | None = None, exclude_fund_id: int | None = None) -> dict[int, int]:
    """policy id -> yen of its aggregate limit used: per recovery claim the larger of claimed and settled, summed.

    The waterfall leaves out the incident it is running for (`exclude_fund_id`);
    the regulator's view counts every incident.
    """
    recoveries = RecoveryClaim.objects.all()
    if policy_ids is not None:
        recoveries = recoveries.filter(policy_id__in=policy_ids)
    if exclude_fund_id is not None:
        recoveries = recoveries.exclude(fund_id=exclude_fund_id)
    rows = (
        recoveries.values("policy")
        .annotate(used=Sum(Greatest("amount_claimed_jpy", "settled_jpy")))
        .order_by()
        .values_list("policy", "used")
    )
    return {policy_id: int(used or 0) for policy_id, used in rows}


def aggregate_remaining_jpy(*, policy: InsurancePolicy, used_jpy: int) -> int:
    """What is left of a policy's aggregate limit after `used_jpy` (never below zero)."""
    return max(0, policy.aggregate_limit_jpy - used_jpy)


def _lagging(fund_id: int, basis_seq: int) -> bool:
    """Whether an admitted entitlement is not yet at the target of the current run of rounds."""
    return Entitlement.objects.filter(fund_id=fund_id, admitted_round__isnull=False, round__lt=basis_seq).exists()


def _queue_drainers(fund: IncidentFund, *, admitted_round: int | None = None) -> None:
    """After commit, queue the tasks that allocate the round: all of it, or only what `admitted_round` admitted."""
    from reserves.tasks import payouts_process

    tasks = 1 if admitted_round else max(1, settings.PAYOUT_PARALLEL_TASKS)
    for _ in range(tasks):
        transaction.on_commit(partial(payouts_process.delay, fund.pk, 0, admitted_round))


def allocation_queue(*, fund: IncidentFund, reason: str, coalesce: bool = False) -> None:
    """After commit, ask for an allocation round for this fund (unless it is on hold). Caller's transaction.

    `coalesce` for the requests that come one claim at a time (registrations,
    raises, holdbacks released): see allocation_request.
    """
    if not fund.on_hold:
        transaction.on_commit(partial(allocation_request, fund.incident_code, reason, coalesce=coalesce))


def allocation_request(incident_code: str, reason: str, *, coalesce: bool = False) -> None:
    """Ask a worker for an allocation round (after commit); with `coalesce`, one per ALLOCATION_COALESCE_SECONDS.

    Many single approvals in a short time make one round, not one each: the
    first request queues the round to run after the interval and marks the
    incident in the cache; requests while the mark stands are covered by that
    round (it admits every entitlement committed before it starts). A lost
    mark or message costs at most the sweep's interval (`payouts_sweep`).
    """
    from celery import current_app

    from reserves.tasks import incident_allocate

    interval = settings.ALLOCATION_COALESCE_SECONDS
    if not coalesce or interval <= 0 or current_app.conf.task_always_eager:
        incident_allocate.delay(incident_code, reason)
        return
    try:
        first = cache.add(f"reserves:allocate:{incident_code}", reason, timeout=interval)
    except Exception:  # the cache is an optimisation: without it, queue the round anyway
        logger.warning("allocation coalescing unavailable for %s", incident_code, exc_info=True)
        first = True
    if first:
        incident_allocate.apply_async((incident_code, reason), countdown=interval)


_POPULATION_SQL = """
SELECT e.n, e.eligible, e.base, h.n, h.held, h.held_base, h.claimed
FROM (SELECT COUNT(*) AS n, COALESCE(SUM(eligible_jpy), 0) AS eligible, COALESCE(SUM(base_jpy), 0) AS base
      FROM reserves_entitlement WHERE fund_id = %(fund)s) AS e,
     (SELECT COUNT(*) AS n, COALESCE(SUM(held_jpy), 0) AS held, COALESCE(SUM(held_base_jpy), 0) AS held_base,
             COALESCE(SUM(claimed_jpy), 0) AS claimed
      FROM reserves_holdback WHERE fund_id = %(fund)s) AS h
"""


def population_read(*, fund: IncidentFund) -> tuple[int, dict[str, Any], Population]:
    """The registered claimants' count, the round's claimant inputs and the population (entitlements and holdbacks).

    One statement, so one snapshot: a registration committing meanwhile moves
    a claim from held back to registered, and two reads could see it in
    neither (the loss basis would dip and the next round pay on another curve).
    Entitlements registered but not yet admitted count too: they are part of
    the population whether this round pays them or the next.
    """
    with connection.cursor() as cursor:
        cursor.execute(_POPULATION_SQL, {"fund": fund.pk})
        count, eligible, base, known, held, held_base, claimed = cursor.fetchone()
    inputs = {
        "count": count,
        "eligible_total_jpy": int(eligible),
        "registered_base_jpy": int(base),
        "held_jpy": int(held),
        "held_base_jpy": int(held_base),
        "claimed_jpy": int(claimed),
        "known_claims": known,
        "expected_loss_jpy": fund.expected_loss_jpy,
        "expected_claimants": fund.expected_claimants,
        "base_amount_jpy": fund.base_amount_jpy,
    }
    return count, inputs, population_replay(inputs)


@transaction.atomic(durable=True)
def allocation_run(*, actor: Any, incident_code: str, reason: str = "", rescan: bool = False) -> Allocation | None:
    """Run the waterfall for an incident and start a new round if anything changed (see the module doc).

    Returns the current round (None while nobody was ever allocated or the
    fund is on hold). Safe to call any number of times, from any worker.
    `rescan` makes a new round bring every entitlement up again even when
    the curve did not change: the path before incremental rounds, kept as the
    benchmark's naive comparison (`bench single_approvals`).
    """
    fund = IncidentFund.objects.select_for_update(of=("self",), no_key=True).filter(incident_code=incident_code).first()
    if fund is None:
        raise NotFound("fund_not_open", f"No incident fund is open for {incident_code}.")
    current = fund.allocations.filter(seq=fund.round).first() if fund.round else None
    if fund.on_hold:
        return current
    policies = _policies_lock(fund)
    recoveries = {
        r.policy_id: r
        for r in RecoveryClaim.objects.select_for_update(of=("self",), no_key=True).filter(fund=fund).order_by("id")
    }
    seq = fund.round + 1
    admitted = Entitlement.objects.filter(fund=fund, admitted_round__isnull=True).update(admitted_round=seq)
    claimants, claimant_inputs, people = population_read(fund=fund)
    if not claimants:
        return current  # nobody to pay: no round, nothing drawn (a settings change never makes an empty round)
    eligible_total, loss_basis, base_total = (
        claimant_inputs["eligible_total_jpy"],
        people.loss_basis_jpy,
        people.base_total_jpy,
    )

    reserve = ledger.reserve_account()
    locked = ledger.accounts_lock(ids=[reserve.id, fund.pool_account_id])
    segments = draw_segments(fund=fund)
    drawn_reserve = sum(amount for key, amount in segments if key == "reserve")
    drawn_insurance = sum(amount for key, amount in segments if key != "reserve")
    terms = [
        PolicyTerms(
            key=p.policy_number,
            layer_order=p.layer_order,
            retention_jpy=p.retention_jpy,
            per_occurrence_limit_jpy=p.per_occurrence_limit_jpy,
            aggregate_remaining_jpy=aggregate_remaining_jpy(policy=p, used_jpy=used),
            coinsurance_share=p.coinsurance_share,
        )
        for p, used in policies
    ]
    wf_inputs = waterfall_inputs(
        eligible_loss_jpy=loss_basis,
        reserve_available_jpy=locked[reserve.id].balance_jpy + drawn_reserve,
        policies=terms,
    )
    result = waterfall(
        eligible_loss_jpy=loss_basis, reserve_available_jpy=wf_inputs["reserve_available_jpy"], policies=terms
    )
    # Insurer money already received counts first: the reserve never draws what is already covered.
    reserve_target = max(drawn_reserve, min(result.reserve_jpy, loss_basis - drawn_insurance))
    reserve_delta = reserve_target - drawn_reserve
    if reserve_delta > 0:
        ledger.transfers_post(
            transfers=[
                ledger.TransferInput(
                    f"draw:{fund.pk}:reserve:r{seq}",
                    reserve,
                    fund.pool_account,
                    reserve_delta,
                    "draw",
                    fund.incident_code,
                    f"reserve tranche, round {seq}",
                )
            ]
        )
    _recoveries_update(fund=fund, policies=[p for p, _ in policies], result=result, recoveries=recoveries)
    funds = reserve_target + drawn_insurance
    level = _level(fund_id=fund.pk, funds=funds, base_total=base_total, loss_basis=loss_basis)
    # Same curve (level, loss basis, base total): every claimant brought up in the current run of rounds is at
    # their target still, so the new round pays only what it admitted.
    same_curve = current is not None and (
        (current.level_jpy, current.loss_basis_jpy, current.base_total_jpy) == (level, loss_basis, base_total)
    )
    basis_seq = (current.basis_seq or current.seq) if same_curve and current and not rescan else seq
    if same_curve and current and current.planned_jpy == result.covered_jpy and not admitted and not reserve_delta:
        if _lagging(fund.pk, basis_seq):
            _queue_drainers(fund)
        return current
    allocation = Allocation.objects.create(
        fund=fund,
        seq=seq,
        rule_version=RULE_VERSION,
        reason=reason[:64],
        inputs={
            "waterfall": wf_inputs,
            "claimants": {**claimant_inputs, "base_total_jpy": base_total, "loss_basis_jpy": loss_basis},
            "funds": {"reserve_drawn_jpy": reserve_target, "insurance_received_jpy": drawn_insurance},
        },
        result={
            "waterfall": result.as_dict(),
            "level_jpy": level,
            "population": people.as_dict(),
            "paid_rate": rate_text(rate_of(level, loss_basis)),
            "planned_rate": rate_text(result.distribution_rate),
        },
        claimant_count=claimants,
        eligible_total_jpy=eligible_total,
        loss_basis_jpy=loss_basis,
        base_total_jpy=base_total,
        funds_jpy=funds,
        level_jpy=level,
        planned_jpy=result.covered_jpy,
        basis_seq=basis_seq,
        created_by=Actor.of(actor).name,
    )
    fund.round = seq
    fund.save(update_fields=["round"])
    event_record(
        actor=actor,
        action="allocation.round",
        subject=fund,
        data={
            "round": seq,
            "reason": reason,
            "rule_version": RULE_VERSION,
            "admitted": admitted,
            "basis_round": basis_seq,
            "reserve_drawn_jpy": reserve_delta,
            "after": allocation.result,
        },
    )
    _queue_drainers(fund, admitted_round=None if basis_seq == seq else seq)
    return allocation


def _recoveries_update(
    *, fund: IncidentFund, policies: list[InsurancePolicy], result: Any, recoveries: dict[int, RecoveryClaim]
) -> None:
    """Open a recovery claim for each policy that bears something; keep each claim's amount in step."""
    borne = dict(result.policies)
    for policy in policies:
        bears = borne.get(policy.policy_number, 0)
        recovery = recoveries.get(policy.pk)
        if recovery is None and bears > 0:
            recovery = RecoveryClaim.objects.create(
                fund=fund,
                policy=policy,
                amount_claimed_jpy=bears,
                notice_due_at=fund.detected_at + dt.timedelta(days=settings.RECOVERY_NOTICE_DAYS),
                proof_due_at=add_months(fund.detected_at, settings.RECOVERY_PROOF_MONTHS),
            )
            event_record(
                actor=None,
                action="recovery.opened",
                subject=recovery,
                data={
                    "after": {
                        "policy_number": policy.policy_number,
                        "amount_claimed_jpy": bears,
                        "notice_due_at": recovery.notice_due_at,
                        "proof_due_at": recovery.proof_due_at,
                    }
                },
            )
        elif recovery is not None and recovery.status != RecoveryClaim.Status.DENIED:
            amount = max(bears, recovery.settled_jpy)
            if amount != recovery.amount_claimed_jpy:
                before = {"amount_claimed_jpy": recovery.amount_claimed_jpy, "status": recovery.status}
                recovery.amount_claimed_jpy = amount
                if recovery.status == RecoveryClaim.Status.SETTLED and amount > recovery.settled_jpy:
                    # The loss grew after the insurer paid: the rest is claimed again (proof already given).
                    recovery.status = RecoveryClaim.Status.PROOF_SUBMITTED
                recovery.save(update_fields=["amount_claimed_jpy", "status"])
                event_record(
                    actor=None,
                    action="recovery.amount_changed",
                    subject=recovery,
                    data={"before": before, "after": {"amount_claimed_jpy": amount, "status": recovery.status}},
                )


def _in_kind(*, method: str, payee: dict, lines: list, eligible_jpy: int, amount: int) -> list[dict]:
    """For crypto payees: each line's quantity in proportion to the payout, truncated to 8 places."""
    if method != Entitlement.Method.CRYPTO or not eligible_jpy:
        return []
    share = Decimal(amount) / Decimal(eligible_jpy)
    addresses = payee.get("addresses", {})
    return [
        {
            "symbol": line["symbol"],
            "quantity": str((Decimal(line["quantity"]) * share).quantize(IN_KIND_PLACES, rounding=ROUND_DOWN)),
            "address": addresses.get(line["symbol"], ""),
        }
        for line in lines
    ]


def _fund_share_lock(fund_id: int) -> tuple | None:
    """The fund's round, hold flag and accounts, with the row locked FOR SHARE (a new round waits for us)."""
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT round, on_hold, incident_code, pool_account_id, allocated_account_id "
            f"FROM reserves_incidentfund WHERE id = %s{lock}",
            [fund_id],
        )
        return cursor.fetchone()


@dataclass
class Chunk:
    """What one allocated chunk hands to its sender: the new payouts are leased to it."""

    processed: int = 0
    payout_ids: list[int] = field(default_factory=list)
    last_id: int = 0
    instructions: list[Instruction] = field(default_factory=list)


@transaction.atomic(durable=True)
def payouts_allocate_chunk(
    *,
    fund_id: int,
    limit: int,
    after_id: int = 0,
    entitlement_ids: list[int] | None = None,
    admitted_round: int | None = None,
) -> Chunk:
    """Allocate one chunk of the current round: the next `limit` entitlements after `after_id` that nobody holds.

    Only entitlements not yet at the current curve are taken (their round is
    before the round's basis); `admitted_round` narrows that to what one round
    admitted (an index finds them without walking the fund). Returns how many
    entitlements were processed, the new payouts (leased to the caller, with
    their rail instructions ready) and the last entitlement id taken: where
    the next chunk starts.
    """
    row = _fund_share_lock(fund_id)
    if row is None:
        raise NotFound("not_found", "No such incident fund.")
    seq, on_hold, incident_code, pool_id, allocated_id = row
    if on_hold or seq == 0:
        return Chunk(last_id=after_id)
    allocation = Allocation.objects.get(fund_id=fund_id, seq=seq)
    basis_seq = allocation.basis_seq or seq
    queryset = Entitlement.objects.filter(
        fund_id=fund_id, admitted_round__isnull=False, round__lt=basis_seq, pk__gt=after_id
    )
    if entitlement_ids is not None:
        queryset = queryset.filter(pk__in=entitlement_ids)
    if admitted_round is not None:
        queryset = queryset.filter(admitted_round=admitted_round)
    rows = list(
        queryset.select_for_update(skip_locked=True, of=("self",), no_key=True)
        .order_by("id")
        .values_list(
            "id", "claim_ref", "eligible_jpy", "base_jpy", "allocated_jpy", "payee_method", "payee", "customer_name"
        )[:limit]
    )
    if not rows:
        return Chunk(last_id=after_id)
    updates: list[tuple[int, int]] = []
    work = []
    for pk, claim_ref, eligible, base, allocated, method, payee, name in rows:
        target = claimant_target(
            eligible_jpy=eligible,
            base_jpy=base,
            level_jpy=allocation.level_jpy,
            base_total_jpy=allocation.base_total_jpy,
            loss_basis_jpy=allocation.loss_basis_jpy,
        )
        target = max(allocated, target)
        updates.append((pk, target))
        if target > allocated:
            work.append((pk, claim_ref, target - allocated, eligible, method, payee, name))
    rows_update(
        model=Entitlement,
        columns={
            "id": [u[0] for u in updates],
            "allocated_jpy": [u[1] for u in updates],
            "round": [seq] * len(updates),
        },
    )
    last_id = rows[-1][0]
    if not work:
        return Chunk(processed=len(rows), last_id=last_id)

    total = sum(item[2] for item in work)
    now = timezone.now()
    lease = now + dt.timedelta(seconds=settings.PAYOUT_LEASE_SECONDS)
    ids = ids_reserve(model=Payout, count=len(work))
    crypto = dict(
        Entitlement.objects.filter(
            pk__in=[item[0] for item in work if item[4] == Entitlement.Method.CRYPTO]
        ).values_list("id", "lines")
    )
    count = len(work)
    columns: dict[str, list] = {
        "id": ids or [None] * count,
        "fund_id": [fund_id] * count,
        "entitlement_id": [item[0] for item in work],
        "allocation_id": [allocation.pk] * count,
        "claim_ref": [item[1] for item in work],
        "amount_jpy": [item[2] for item in work],
        "eligible_jpy": [item[3] for item in work],
        "breakdown": [],
        "method": [item[4] for item in work],
        "rail": [rail_name_for(item[4]) for item in work],
        "in_kind": [
            _in_kind(method=m, payee=payee, lines=crypto.get(pk, []), eligible_jpy=e, amount=d) if m == "crypto" else []
            for pk, _, d, e, m, payee, _ in work
        ],
        "idempotency_key": [f"{item[1]}:r{seq}" for item in work],
        "status": ["pending"] * count,
        "attempts": [0] * count,
        "next_attempt_at": [now] * count,
        "locked_until": [lease] * count,
        "last_error": [""] * count,
        "rail_reference": [""] * count,
        "created_at": [now] * count,
        "updated_at": [now] * count,
    }
    # Only now lock the pool: where this chunk's money sits in it decides which sources each payout draws on.
    locked = ledger.accounts_lock(ids=[pool_id, allocated_id])
    segments = draw_segments(fund=IncidentFund(pk=fund_id, pool_account_id=pool_id))
    position = sum(amount for _, amount in segments) - locked[pool_id].balance_jpy
    for delta in columns["amount_jpy"]:
        columns["breakdown"].append(_split(position, delta, segments))
        position += delta
    if ids:
        rows_insert(model=Payout, columns=columns)
    else:  # not PostgreSQL: let the database number them
        created = Payout.objects.bulk_create(
            [Payout(**{k: v[i] for k, v in columns.items() if k != "id"}) for i in range(count)]
        )
        columns["id"] = [p.pk for p in created]
    listed = ("id", "claim_ref", "amount_jpy", "breakdown")
    payouts = [list(row) for row in zip(*(columns[name] for name in listed), strict=True)]
    ledger.transfers_post(
        transfers=[
            ledger.TransferInput(
                f"allocate:{fund_id}:r{seq}:{payouts[0][0]}",
                locked[pool_id],
                locked[allocated_id],
                total,
                "allocation",
                incident_code,
                f"round {seq}: {len(payouts)} payouts",
            )
        ]
    )
    # Bulk work is logged one event per chunk, listing every payout (one chain lock per chunk).
    events_record(
        actor=None,
        events=[
            EventInput(
                "payouts.allocated",
                "reserves.incidentfund",
                str(fund_id),
                {
                    "incident_code": incident_code,
                    "round": seq,
                    "count": len(payouts),
                    "total_jpy": total,
                    # [payout id, claim_ref, amount, sources]; idempotency key = "<claim_ref>:r<round>"
                    "payouts": payouts,
                },
            )
        ],
    )
    instructions = [
        Instruction(
            payout_id=columns["id"][n],
            idempotency_key=columns["idempotency_key"][n],
            amount_jpy=delta,
            method=method,
            payee=payee,
            customer_name=name,
            claim_ref=claim_ref,
            attempt=1,
            in_kind=columns["in_kind"][n],
        )
        for n, (_, claim_ref, delta, _, method, payee, name) in enumerate(work)
    ]
    return Chunk(processed=len(rows), payout_ids=columns["id"], last_id=last_id, instructions=instructions)


@transaction.atomic(durable=True)
def payouts_lease(
    *, payout_ids: list[int] | None = None, fund_id: int | None = None, limit: int | None = None
) -> list[int]:
    """Lease pending payouts that are due and not being sent by anyone else; returns their ids."""
    now = timezone.now()
    queryset = Payout.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now),
        status=Payout.Status.PENDING,
        next_attempt_at__lte=now,
        fund__on_hold=False,
    )
    if payout_ids is not None:
        queryset = queryset.filter(pk__in=payout_ids)
    if fund_id is not None:
        queryset = queryset.filter(fund_id=fund_id)
    ids = list(
        queryset.select_for_update(skip_locked=True, of=("self",), no_key=True)
        .order_by("id")
        .values_list("id", flat=True)[: limit or settings.PAYOUT_CHUNK_SIZE]
    )
    if ids:
        lease = now + dt.timedelta(seconds=settings.PAYOUT_LEASE_SECONDS)
        Payout.objects.filter(pk__in=ids).update(locked_until=lease)
    return ids


def payouts_dispatch(*, payout_ids: list[int], leased: bool = False) -> dict[str, int]:
    """Send payouts through their rails and record the results. Not atomic: rails are called between transactions.

    `leased=True` when the caller already holds the lease (fresh from
    payouts_allocate_chunk); otherwise the due ones among `payout_ids` are leased here.
    """
    if not leased:
        payout_ids = payouts_lease(payout_ids=payout_ids)
    if not payout_ids:
        return {}
    return instructions_send(instructions=_instructions_load(payout_ids))


def _instructions_load(payout_ids: list[int]) -> list[Instruction]:
    rows = (
        Payout.objects.filter(pk__in=payout_ids, status=Payout.Status.PENDING)
        .order_by("id")
        .values_list(
            "id",
            "amount_jpy",
            "idempotency_key",
            "rail",
            "in_kind",
            "attempts",
            "claim_ref",
            "entitlement__payee",
            "entitlement__payee_method",
            "entitlement__customer_name",
        )
    )
    return [
        Instruction(
            payout_id=pk,
            idempotency_key=key,
            amount_jpy=amount,
            method=method,
            payee=payee,
            customer_name=name,
            claim_ref=claim_ref,
            attempt=attempts + 1,
            in_kind=in_kind,
            rail=rail,
        )
        for pk, amount, key, rail, in_kind, attempts, claim_ref, payee, method, name in rows
    ]


def instructions_send(*, instructions: list[Instruction]) -> dict[str, int]:
    """Send leased payouts through their rails (outside any transaction), then record the results."""
    if not instructions:
        return {}
    by_rail: dict[str, list[Instruction]] = defaultdict(list)
    for ins in instructions:
        by_rail[ins.rail or rail_name_for(ins.method)].append(ins)
    results: list[RailResult] = []
    for rail_name, instructions in by_rail.items():
        try:
            results.extend(rail_get(rail_name).send(instructions=instructions))
        except Exception as exc:  # a rail that breaks must not lose the batch: every payout is retried
            logger.exception("payment rail %s failed for %d payouts", rail_name, len(instructions))
            results.extend(RailResult(i.payout_id, "retry", error=f"{rail_name}: {exc}"[:500]) for i in instructions)
    return payouts_record(results=results)


def _backoff_seconds(attempts: int) -> float:
    return min(settings.PAYOUT_RETRY_MAX_SECONDS, settings.PAYOUT_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))


def _receipt(p: Payout, entitlement: tuple, incident_code: str, allocation: tuple, now: dt.datetime):
    _, account_id, name = entitlement
    seq, level, loss_basis = allocation
    return signals.PayoutReceipt(
        payout_id=p.pk,
        claim_ref=p.claim_ref,
        incident_code=incident_code,
        customer_account_id=account_id,
        customer_name=name,
        amount_jpy=p.amount_jpy,
        breakdown=p.breakdown,
        method=p.method,
        rail=p.rail,
        rail_reference=p.rail_reference,
        idempotency_key=p.idempotency_key,
        in_kind=p.in_kind,
        allocation_round=seq,
        distribution_rate=rate_text(rate_of(level, loss_basis)),
        paid_at=now.astimezone(dt.UTC).isoformat(),
    )


def _paid_effects(*, payouts: list, now: dt.datetime) -> list[EventInput]:
    """What follows a payout becoming paid: a ledger transfer allocated -> paid for each, the signals, receipts queued.

    Caller's transaction, right after it set the payouts paid. Returns the
    audit events to write (one per fund, listing the payouts).
    """
    if not payouts:
        return []
    funds = {
        pk: (code, Account(pk=allocated_id), Account(pk=paid_id))
        for pk, code, allocated_id, paid_id in IncidentFund.objects.filter(
            pk__in={p.fund_id for p in payouts}
        ).values_list("id", "incident_code", "allocated_account_id", "paid_account_id")
    }
    entitlements = (
        {
            row[0]: row
            for row in Entitlement.objects.filter(pk__in={p.entitlement_id for p in payouts}).values_list(
                "id", "customer_account_id", "customer_name"
            )
        }
        if signals.payout_completed.has_listeners(Payout)
        else {}
    )
    allocations = (
        {
            row[0]: row[1:]
            for row in Allocation.objects.filter(pk__in={p.allocation_id for p in payouts}).values_list(
                "id", "seq", "level_jpy", "loss_basis_jpy"
            )
        }
        if entitlements
        else {}
    )
    transfers, by_fund = [], defaultdict(list)
    for p in payouts:
        code, allocated, paid = funds[p.fund_id]
        transfers.append(
            ledger.TransferInput(
                f"payout:{p.pk}",
                allocated,
                paid,
                p.amount_jpy,
                "payout",
                code,
                p.claim_ref,
            )
        )
        by_fund[p.fund_id].append(p)
    ledger.transfers_post(transfers=transfers)
    receipts_wanted = bool(entitlements)
    for p in payouts:
        signals.payout_paid.send(
            sender=Payout,
            claim_ref=p.claim_ref,
            payout_id=p.pk,
            amount_jpy=p.amount_jpy,
            breakdown=p.breakdown,
            rail_reference=p.rail_reference,
        )
        if receipts_wanted:
            receipt = _receipt(
                p, entitlements[p.entitlement_id], funds[p.fund_id][0], allocations[p.allocation_id], now
            )
            signals.payout_completed.send(sender=Payout, receipt=receipt)
    signals.payouts_paid.send(sender=Payout, claim_refs=[p.claim_ref for p in payouts])
    # Signing waits until the payment commits (follow-up queue): one on_commit here, no query.
    receipts_queue(payout_ids=[p.pk for p in payouts])
    return [
        EventInput(
            "payouts.paid",
            "reserves.incidentfund",
            str(fund_id),
            {
                "incident_code": funds[fund_id][0],
                "count": len(items),
                "total_jpy": sum(p.amount_jpy for p in items),
                # [payout id, amount, rail reference]; claim and sources are in "payouts.allocated"
                "payouts": [[p.pk, p.amount_jpy, p.rail_reference] for p in items],
            },
        )
        for fund_id, items in by_fund.items()
    ]


def payouts_mark_paid(*, actor: Any, payouts: list[Payout]) -> None:
    """Mark submitted payouts paid (a confirmed Zengin file). Caller's transaction; rows locked."""
    now = timezone.now()
    rows_update(
        model=Payout,
        columns={
            "id": [p.pk for p in payouts],
            "status": ["paid"] * len(payouts),
            "paid_at": [now] * len(payouts),
            "updated_at": [now] * len(payouts),
        },
    )
    events_record(actor=actor, events=_paid_effects(payouts=payouts, now=now))


@dataclass(slots=True)
class PayoutRow:
    """What recording a rail result needs of a payout (a model instance costs far more to build)."""

    pk: int
    fund_id: int
    entitlement_id: int
    allocation_id: int
    claim_ref: str
    amount_jpy: int
    breakdown: dict
    method: str
    rail: str
    in_kind: list
    idempotency_key: str
    attempts: int
    status: str = "pending"
    rail_reference: str = ""
    last_error: str = ""
    next_attempt_at: dt.datetime | None = None


PAYOUT_RECORD_FIELDS = (
    "id",
    "fund_id",
    "entitlement_id",
    "allocation_id",
    "claim_ref",
    "amount_jpy",
    "breakdown",
    "method",
    "rail",
    "in_kind",
    "idempotency_key",
    "attempts",
)


@transaction.atomic(durable=True)
def payouts_record(*, results: list[RailResult]) -> dict[str, int]:
    """Apply rail results to pending payouts, in one conditional UPDATE.

    A payout changes only if it is still pending with the attempt count read
    here (optimistic concurrency instead of row locks): a result recorded
    twice, or raced by another recorder, changes nothing the second time.
    """
    by_id = {r.payout_id: r for r in results}
    rows = [
        PayoutRow(*row)
        for row in Payout.objects.filter(pk__in=by_id, status=Payout.Status.PENDING)
        .order_by("id")
        .values_list(*PAYOUT_RECORD_FIELDS)
    ]
    now = timezone.now()
    previous_attempts = [p.attempts for p in rows]
    for p in rows:
        result = by_id[p.pk]
        p.attempts += 1
        p.next_attempt_at, p.rail_reference, p.last_error = now, result.reference, ""
        if result.outcome in ("paid", "submitted"):
            p.status = result.outcome
        elif result.outcome == "returned":  # the payee cannot receive it: the customer is asked (reserves/returns.py)
            p.status, p.last_error = "returned", result.error
        elif result.outcome == "retry" and p.attempts < settings.PAYOUT_MAX_ATTEMPTS:
            p.status, p.last_error = "pending", result.error
            p.next_attempt_at = now + dt.timedelta(seconds=_backoff_seconds(p.attempts))
        else:
            p.status, p.last_error = "failed", result.error
    updated = set(
        rows_update(
            model=Payout,
            columns={
                "id": [p.pk for p in rows],
                "status": [p.status for p in rows],
                "attempts": [p.attempts for p in rows],
                "next_attempt_at": [p.next_attempt_at for p in rows],
                "locked_until": [None] * len(rows),
                "last_error": [p.last_error for p in rows],
                "rail_reference": [p.rail_reference for p in rows],
                "paid_at": [now if p.status == "paid" else None for p in rows],
                "returned_at": [now if p.status == "returned" else None for p in rows],
                "return_code": [by_id[p.pk].code if p.status == "returned" else "" for p in rows],
                "return_reason": [by_id[p.pk].error[:200] if p.status == "returned" else "" for p in rows],
                "updated_at": [now] * len(rows),
            },
            expect={"status": ["pending"] * len(rows), "attempts": previous_attempts},
        )
    )
    rows = [p for p in rows if p.pk in updated]
    counts: dict[str, int] = defaultdict(int)
    events, retry_ids, submitted = [], [], defaultdict(list)
    for p in rows:
        counts[p.status] += 1
        if p.status == "submitted":
            submitted[p.fund_id].append([p.pk, p.claim_ref, p.amount_jpy, p.rail_reference])
        elif p.status == "pending":
            retry_ids.append(p.pk)
            data = {"claim_ref": p.claim_ref, "attempt": p.attempts, "error": p.last_error}
            events.append(EventInput("payout.attempt_failed", "reserves.payout", str(p.pk), data))
        elif p.status == "returned":
            code = by_id[p.pk].code
            signals.payout_returned.send(
                sender=Payout,
                claim_ref=p.claim_ref,
                payout_id=p.pk,
                amount_jpy=p.amount_jpy,
                reason_code=code,
                reason=p.last_error,
            )
            data = {"claim_ref": p.claim_ref, "before": {"status": "pending"}, "after": {"status": "returned"}}
            events.append(EventInput("payout.returned", "reserves.payout", str(p.pk), {**data, "reason_code": code}))
        elif p.status == "failed":
            signals.payout_failed.send(sender=Payout, claim_ref=p.claim_ref, payout_id=p.pk, reason=p.last_error)
            data = {"claim_ref": p.claim_ref, "attempts": p.attempts, "reason": p.last_error}
            events.append(EventInput("payout.failed", "reserves.payout", str(p.pk), data))
    events.extend(
        EventInput("payouts.submitted", "reserves.incidentfund", str(fund_id), {"count": len(items), "payouts": items})
        for fund_id, items in submitted.items()
    )
    events.extend(_paid_effects(payouts=[p for p in rows if p.status == "paid"], now=now))
    events_record(actor=None, events=events)
    if retry_ids:
        from reserves.tasks import payouts_send

        delay = min(_backoff_seconds(p.attempts) for p in rows if p.pk in set(retry_ids))
        transaction.on_commit(partial(payouts_send.apply_async, args=[retry_ids], countdown=delay))
    return dict(counts)


def payouts_send_due(*, fund_id: int | None = None, max_batches: int = 50) -> int:
    """Send due pending payouts nobody is sending (scheduled retries, orphans of a dead worker). Returns how many."""
    sent = 0
    for _ in range(max_batches):
        ids = payouts_lease(fund_id=fund_id)
        if not ids:
            break
        payouts_dispatch(payout_ids=ids, leased=True)
        sent += len(ids)
    return sent


def _basis_seq(fund: IncidentFund) -> int:
    """The basis of the fund's current round: entitlements brought up before it are behind."""
    basis = fund.allocations.filter(seq=fund.round).values_list("basis_seq", flat=True).first()
    return basis or fund.round


def payouts_sweep() -> dict[str, int]:
    """The periodic safety net: queue allocation or drainers for funds behind, send orphaned due payouts."""
    from reserves.tasks import incident_allocate, payouts_process

    queued = 0
    for fund in IncidentFund.objects.filter(on_hold=False):
        if Entitlement.objects.filter(fund=fund, admitted_round__isnull=True).exists():
            incident_allocate.delay(fund.incident_code, "sweep")
            queued += 1
        elif fund.round and _lagging(fund.pk, _basis_seq(fund)):
            payouts_process.delay(fund.pk)
            queued += 1
    return {"queued": queued, "sent": payouts_send_due()}
