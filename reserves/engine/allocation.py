"""Allocation rounds: the waterfall over an incident's loss basis, the reserve's tranche drawn, insurers' recoveries
opened, and a new round (the level every claimant is brought up to) stored when anything changed.

`allocation_run` holds the fund row (FOR NO KEY UPDATE) while it works, so one
round is decided at a time; it queues the chunk workers (engine/chunks.py) after commit.
"""

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import Greatest
from django.utils.translation import gettext as _

from audit.services import Actor, event_record
from core.dispatch import enqueue_after_commit
from core.errors import NotFound
from core.locks import locked
from core.types import User
from reserves import ledger
from reserves.engine.pool import draw_segments
from reserves.engine.population import level_for, population_read
from reserves.models import Allocation, Entitlement, IncidentFund, InsurancePolicy, RecoveryClaim
from reserves.waterfall import (
    RULE_VERSION,
    PolicyTerms,
    Population,
    WaterfallResult,
    rate_of,
    rate_text,
    waterfall,
    waterfall_inputs,
)


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day and time `months` later (the month's last day when it is shorter)."""

    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def _policies_lock(fund: IncidentFund) -> list[tuple[InsurancePolicy, int]]:
    """Policies in force at detection, locked in id order, with what other incidents already claimed of each."""
    policies = list(
        locked(InsurancePolicy.objects)
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


def fund_lagging(fund_id: int, basis_seq: int) -> bool:
    """Whether an admitted entitlement is not yet at the target of the current run of rounds."""
    return Entitlement.objects.filter(fund_id=fund_id, admitted_round__isnull=False, round__lt=basis_seq).exists()


def basis_seq_of(fund: IncidentFund) -> int:
    """The basis of the fund's current round: entitlements brought up before it are behind."""
    basis = fund.allocations.filter(seq=fund.round).values_list("basis_seq", flat=True).first()
    return basis or fund.round


def _queue_drainers(fund: IncidentFund, *, admitted_round: int | None = None) -> None:
    """After commit, queue the tasks that allocate the round: all of it, or only what `admitted_round` admitted."""
    tasks = 1 if admitted_round else max(1, settings.PAYOUT_PARALLEL_TASKS)
    for _task in range(tasks):
        enqueue_after_commit("reserves.payouts_process", fund.pk, 0, admitted_round)


def allocation_queue(*, fund: IncidentFund, reason: str, coalesce: bool = False) -> None:
    """After commit, ask a worker for an allocation round for this fund (unless it is on hold). Caller's transaction.

    `coalesce` for the requests that come one claim at a time (registrations,
    raises, holdbacks released): many single approvals in a short time make
    one round, not one each. The first request queues the round to run after
    ALLOCATION_COALESCE_SECONDS; requests meanwhile are covered by that round
    (it admits every entitlement committed before it starts). A lost mark or
    message costs at most the sweep's interval (`payouts_sweep`).
    """
    if fund.on_hold:
        return
    code = fund.incident_code
    if coalesce:
        interval = settings.ALLOCATION_COALESCE_SECONDS
        enqueue_after_commit(
            "reserves.incident_allocate", code, reason, coalesce=(f"reserves:allocate:{code}", interval)
        )
    else:
        enqueue_after_commit("reserves.incident_allocate", code, reason)


@dataclass(frozen=True)
class Claimants:
    """The fund's population at a new round (`admitted` entitlements joined at this round): population_read."""

    admitted: int
    count: int
    inputs: dict[str, Any]
    population: Population

    @property
    def eligible_total_jpy(self) -> int:
        return int(self.inputs["eligible_total_jpy"])

    @property
    def base_total_jpy(self) -> int:
        return self.population.base_total_jpy

    @property
    def loss_basis_jpy(self) -> int:
        return self.population.loss_basis_jpy


@dataclass(frozen=True)
class Draw:
    """What the waterfall decided and how much of the reserve is in the incident's pool after this round."""

    inputs: dict
    result: WaterfallResult
    reserve_target_jpy: int
    reserve_delta_jpy: int
    insurance_received_jpy: int

    @property
    def funds_jpy(self) -> int:
        return self.reserve_target_jpy + self.insurance_received_jpy


@transaction.atomic(durable=True)
def allocation_run(
    *, actor: User | Actor | None, incident_code: str, reason: str = "", rescan: bool = False
) -> Allocation | None:
    """Run the waterfall for an incident and start a new round if anything changed (see the module doc).

    Returns the current round (None while nobody was ever allocated or the
    fund is on hold). Safe to call any number of times, from any worker.
    `rescan` makes a new round bring every entitlement up again even when
    the curve did not change: the path before incremental rounds, kept as the
    benchmark's naive comparison (`bench single_approvals`).
    """
    fund = locked(IncidentFund.objects).filter(incident_code=incident_code).first()
    if fund is None:
        raise NotFound("fund_not_open", _("No incident fund is open for %(code)s.") % {"code": incident_code})
    current = fund.allocations.filter(seq=fund.round).first() if fund.round else None
    if fund.on_hold:
        return current
    policies = _policies_lock(fund)
    recoveries = {r.policy_id: r for r in locked(RecoveryClaim.objects).filter(fund=fund).order_by("id")}
    seq = fund.round + 1
    claimants = _claimants_admit(fund=fund, seq=seq)
    if not claimants.count:
        return current  # nobody to pay: no round, nothing drawn (a settings change never makes an empty round)
    draw = _reserve_draw(fund=fund, seq=seq, loss_basis=claimants.loss_basis_jpy, policies=policies)
    _recoveries_update(fund=fund, policies=[p for p, _ in policies], result=draw.result, recoveries=recoveries)
    level = level_for(
        fund_id=fund.pk,
        funds=draw.funds_jpy,
        base_total=claimants.base_total_jpy,
        loss_basis=claimants.loss_basis_jpy,
    )
    # Same curve (level, loss basis, base total): every claimant brought up in the current run of rounds is at
    # their target still, so the new round pays only what it admitted.
    same_curve = current is not None and (
        (current.level_jpy, current.loss_basis_jpy, current.base_total_jpy)
        == (level, claimants.loss_basis_jpy, claimants.base_total_jpy)
    )
    basis_seq = (current.basis_seq or current.seq) if same_curve and current and not rescan else seq
    unchanged = same_curve and current is not None and current.planned_jpy == draw.result.covered_jpy
    if unchanged and not claimants.admitted and not draw.reserve_delta_jpy:
        if fund_lagging(fund.pk, basis_seq):
            _queue_drainers(fund)
        return current
    allocation = _round_create(
        actor=actor, fund=fund, seq=seq, reason=reason, claimants=claimants, draw=draw, level=level, basis_seq=basis_seq
    )
    _queue_drainers(fund, admitted_round=None if basis_seq == seq else seq)
    return allocation


def _claimants_admit(*, fund: IncidentFund, seq: int) -> Claimants:
    """Admit the entitlements registered since the last round to round `seq`; the population as it stands."""
    admitted = Entitlement.objects.filter(fund=fund, admitted_round__isnull=True).update(admitted_round=seq)
    count, inputs, population = population_read(fund=fund)
    return Claimants(admitted=admitted, count=count, inputs=inputs, population=population)


def _reserve_draw(
    *, fund: IncidentFund, seq: int, loss_basis: int, policies: list[tuple[InsurancePolicy, int]]
) -> Draw:
    """Run the waterfall for the loss basis and draw the reserve's tranche into the pool up to what it bears."""
    reserve = ledger.reserve_account()
    accounts = ledger.accounts_lock(ids=[reserve.id, fund.pool_account_id])
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
        reserve_available_jpy=accounts[reserve.id].balance_jpy + drawn_reserve,
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
    return Draw(wf_inputs, result, reserve_target, reserve_delta, drawn_insurance)


def _round_create(
    *,
    actor: User | Actor | None,
    fund: IncidentFund,
    seq: int,
    reason: str,
    claimants: Claimants,
    draw: Draw,
    level: int,
    basis_seq: int,
) -> Allocation:
    """Store round `seq` with its inputs and result, make it the fund's current round, and record it."""
    loss_basis = claimants.loss_basis_jpy
    allocation = Allocation.objects.create(
        fund=fund,
        seq=seq,
        rule_version=RULE_VERSION,
        reason=reason[:64],
        inputs={
            "waterfall": draw.inputs,
            "claimants": {
                **claimants.inputs,
                "base_total_jpy": claimants.base_total_jpy,
                "loss_basis_jpy": loss_basis,
            },
            "funds": {
                "reserve_drawn_jpy": draw.reserve_target_jpy,
                "insurance_received_jpy": draw.insurance_received_jpy,
            },
        },
        result={
            "waterfall": draw.result.as_dict(),
            "level_jpy": level,
            "population": claimants.population.as_dict(),
            "paid_rate": rate_text(rate_of(level, loss_basis)),
            "planned_rate": rate_text(draw.result.distribution_rate),
        },
        claimant_count=claimants.count,
        eligible_total_jpy=claimants.eligible_total_jpy,
        loss_basis_jpy=loss_basis,
        base_total_jpy=claimants.base_total_jpy,
        funds_jpy=draw.funds_jpy,
        level_jpy=level,
        planned_jpy=draw.result.covered_jpy,
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
            "admitted": claimants.admitted,
            "basis_round": basis_seq,
            "reserve_drawn_jpy": draw.reserve_delta_jpy,
            "after": allocation.result,
        },
    )
    return allocation


def _recoveries_update(
    *,
    fund: IncidentFund,
    policies: list[InsurancePolicy],
    result: WaterfallResult,
    recoveries: dict[int, RecoveryClaim],
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
