"""Recording what the rails answered: paid, submitted, returned, retry with backoff, or failed, in one UPDATE.

A paid payout moves its money allocated -> paid in the ledger, tells the apps
above (signals.payouts_paid, inside the transaction) and queues its signed
receipt after commit; a returned one tells them too (signals.payout_returned).
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import Actor, EventInput, events_record
from core.bulk import rows_update
from core.dispatch import enqueue_after_commit
from core.lookups import any_of
from core.types import User
from reserves import ledger, signals
from reserves.models import Account, IncidentFund, Payout
from reserves.rails import RailResult


def _backoff_seconds(attempts: int) -> float:
    return min(settings.PAYOUT_RETRY_MAX_SECONDS, settings.PAYOUT_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))


# Payout ids per queued receipt task (reserves.payout_receipts_issue signs them in chunks of its own).
RECEIPT_TASK_CHUNK = 2000


def receipts_queue(*, payout_ids: Sequence[int]) -> None:
    """Queue receipts for payouts the caller's transaction marks paid, to be issued after it commits.

    Called inside the payment transaction: costs one after-commit dispatch per chunk, no
    query. `robust`: a broker that is down must not fail the payment (the
    sweep issues the receipt later).
    """
    ids = list(payout_ids)
    for start in range(0, len(ids), RECEIPT_TASK_CHUNK):
        enqueue_after_commit("reserves.payout_receipts_issue", ids[start : start + RECEIPT_TASK_CHUNK], robust=True)


def _paid_effects(*, payouts: list, now: dt.datetime) -> list[EventInput]:
    """What follows a payout becoming paid: a ledger transfer allocated -> paid for each, claims told, receipts queued.

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
    transfers, by_fund = [], defaultdict(list)
    for p in payouts:
        code, allocated, paid = funds[p.fund_id]
        transfers.append(
            ledger.TransferInput(f"payout:{p.pk}", allocated, paid, p.amount_jpy, "payout", code, p.claim_ref)
        )
        by_fund[p.fund_id].append(p)
    ledger.transfers_post(transfers=transfers)
    signals.payouts_paid.send(sender=Payout, claim_refs=[p.claim_ref for p in payouts])
    # Signing waits until the payment commits (follow-up queue): one after-commit dispatch here, no query.
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


def _paid_accounts_lock(payouts: "Sequence[Payout | PayoutRow]") -> None:
    """Lock the allocated and paid accounts of the payouts' funds before their status changes.

    The status UPDATE adds to the payout figures (reserves_payoutfigure, by trigger) and an allocation
    chunk locks these accounts before it inserts payouts (which adds to the same figures): taking the
    accounts first keeps one order, accounts then figures (core/locks.py), so the two never deadlock.
    """
    fund_ids = {p.fund_id for p in payouts}
    if not fund_ids:
        return
    pairs = IncidentFund.objects.filter(pk__in=fund_ids).values_list("allocated_account_id", "paid_account_id")
    ledger.accounts_lock(ids=[account_id for pair in pairs for account_id in pair])


def payouts_mark_paid(*, actor: User | Actor, payouts: list[Payout]) -> None:
    """Mark submitted payouts paid (a confirmed Zengin file). Caller's transaction; rows locked."""
    now = timezone.now()
    _paid_accounts_lock(payouts)
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
        for row in Payout.objects.filter(any_of("pk", by_id), status=Payout.Status.PENDING)
        .order_by("id")
        .values_list(*PAYOUT_RECORD_FIELDS)
    ]
    now = timezone.now()
    previous_attempts = [p.attempts for p in rows]
    for p in rows:
        _outcome_apply(p, by_id[p.pk], now)
    _paid_accounts_lock([p for p in rows if p.status == "paid"])
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
    events, retry_ids = _outcome_effects(rows=rows, by_id=by_id)
    events.extend(_paid_effects(payouts=[p for p in rows if p.status == "paid"], now=now))
    events_record(actor=None, events=events)
    if retry_ids:
        delay = min(_backoff_seconds(p.attempts) for p in rows if p.pk in set(retry_ids))
        enqueue_after_commit("reserves.payouts_send", retry_ids, countdown=delay)
    counts: dict[str, int] = defaultdict(int)
    for p in rows:
        counts[p.status] += 1
    return dict(counts)


def _outcome_apply(p: PayoutRow, result: RailResult, now: dt.datetime) -> None:
    """The payout's new state after this attempt's result (in memory; payouts_record writes it)."""
    p.attempts += 1
    p.next_attempt_at, p.rail_reference, p.last_error = now, result.reference, ""
    if result.outcome in ("paid", "submitted"):
        p.status = result.outcome
    elif result.outcome == "returned":  # the payee cannot receive it: the customer is asked (services/returns.py)
        p.status, p.last_error = "returned", result.error
    elif result.outcome == "retry" and p.attempts < settings.PAYOUT_MAX_ATTEMPTS:
        p.status, p.last_error = "pending", result.error
        p.next_attempt_at = now + dt.timedelta(seconds=_backoff_seconds(p.attempts))
    else:
        p.status, p.last_error = "failed", result.error


def _outcome_effects(*, rows: list[PayoutRow], by_id: dict[int, RailResult]) -> tuple[list[EventInput], list[int]]:
    """The audit events of the recorded outcomes but payments (one per submitted file and fund), the returns
    signalled to claims, and the payouts to try again."""
    events, retry_ids, submitted = [], [], defaultdict(list)
    for p in rows:
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
            data = {"claim_ref": p.claim_ref, "attempts": p.attempts, "reason": p.last_error}
            events.append(EventInput("payout.failed", "reserves.payout", str(p.pk), data))
    events.extend(
        EventInput("payouts.submitted", "reserves.incidentfund", str(fund_id), {"count": len(items), "payouts": items})
        for fund_id, items in submitted.items()
    )
    return events, retry_ids
