"""Celery tasks of the payout workflow. Thin: load by id, call one service; every task is safe to run twice.

Settings: acks_late, reject_on_worker_lost and prefetch 1 (config/settings.py)
mean a task whose worker dies is delivered again; the services' row locks,
rounds and idempotency keys make the second delivery a no-op or a resume.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError

from audit.signing import SigningKeyMissing
from reserves import allocation, receipts
from reserves.models import Entitlement

logger = logging.getLogger(__name__)
RETRYABLE = {"autoretry_for": (DatabaseError,), "retry_backoff": True, "retry_backoff_max": 60, "max_retries": 10}


@shared_task(name="reserves.incident_allocate", **RETRYABLE)
def incident_allocate(incident_code: str, reason: str = "") -> dict:
    """Run the waterfall for an incident; a new round queues the drainers."""
    result = allocation.allocation_run(actor=None, incident_code=incident_code, reason=reason)
    return {"incident_code": incident_code, "round": result.seq if result else 0}


@shared_task(name="reserves.payouts_process", **RETRYABLE)
def payouts_process(fund_id: int, after_id: int = 0, admitted_round: int | None = None) -> dict:
    """Allocate one chunk after `after_id` and send it, then queue the next one.

    When nothing is left after `after_id`, one more pass from the start picks
    up entitlements that were locked by others when we passed; the pass from
    the start that finds nothing ends the chain by sending orphaned payouts.
    With `admitted_round` only what that round admitted is taken (a round
    that changed nothing for the others); orphans are then left to the sweep.
    """
    chunk = allocation.payouts_allocate_chunk(
        fund_id=fund_id, limit=settings.PAYOUT_CHUNK_SIZE, after_id=after_id, admitted_round=admitted_round
    )
    outcome = allocation.instructions_send(instructions=chunk.instructions)
    processed = chunk.processed
    if processed:
        payouts_process.delay(fund_id, chunk.last_id, admitted_round)
    elif after_id:
        payouts_process.delay(fund_id, 0, admitted_round)
    elif admitted_round is None:
        outcome["orphans_sent"] = allocation.payouts_send_due(fund_id=fund_id)
    return {"fund_id": fund_id, "after_id": after_id, "processed": processed, **outcome}


@shared_task(name="reserves.payout_process_single", **RETRYABLE)
def payout_process_single(entitlement_id: int) -> dict:
    """One claim end to end in its own task: the naive path the benchmark compares against."""
    fund_id = Entitlement.objects.filter(pk=entitlement_id).values_list("fund_id", flat=True).first()
    if fund_id is None:
        return {"entitlement_id": entitlement_id, "processed": 0}
    chunk = allocation.payouts_allocate_chunk(fund_id=fund_id, limit=1, entitlement_ids=[entitlement_id])
    outcome = allocation.instructions_send(instructions=chunk.instructions)
    return {"entitlement_id": entitlement_id, "processed": chunk.processed, **outcome}


@shared_task(name="reserves.payouts_send", **RETRYABLE)
def payouts_send(payout_ids: list[int]) -> dict:
    """Send (again) these payouts, the ones that are due; the others wait for their own retry time."""
    return allocation.payouts_dispatch(payout_ids=payout_ids)


@shared_task(name="reserves.payouts_sweep")
def payouts_sweep() -> dict:
    """Beat: queue work for funds that fell behind and send due payouts nobody is sending."""
    return allocation.payouts_sweep()


# Follow-up work (settings CELERY_FOLLOWUP_TASKS): payments never wait for receipts.
RECEIPT_RETRY = {
    # A deadlock or dropped connection, or (backstop) losing a race to the unique receipt per payout:
    # the retry locks the payouts again and finds their receipts issued.
    "autoretry_for": (OperationalError, IntegrityError),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 10,
}


@shared_task(name="reserves.payout_receipts_issue", **RECEIPT_RETRY)
def payout_receipts_issue(payout_ids: list[int]) -> dict:
    """Sign one receipt per paid payout that has none (idempotent). Without a key: log, leave it to the sweep."""
    try:
        issued = receipts.payout_receipts_issue(payout_ids=payout_ids)
    except SigningKeyMissing as exc:
        logger.warning("payout receipts not issued for %d payouts (the sweep retries): %s", len(payout_ids), exc)
        return {"issued": 0, "skipped": exc.code}
    return {"issued": issued}


@shared_task(name="reserves.payout_receipts_sweep", **RECEIPT_RETRY)
def payout_receipts_sweep() -> dict:
    """Beat: issue receipts for paid payouts that still lack one (a lost message, a missing key)."""
    try:
        issued = receipts.payout_receipts_sweep()
    except SigningKeyMissing as exc:
        missing = receipts.payouts_without_receipt().count()
        if missing:
            logger.error("%d paid payouts have no receipt and none can be signed: %s", missing, exc)
        return {"issued": 0, "skipped": exc.code, "missing": missing}
    return {"issued": issued}


@shared_task(name="reserves.recoveries_follow_up")
def recoveries_follow_up() -> dict:
    """Beat: warn about insurer notice and proof-of-loss deadlines that are near or past."""
    from reserves.services import recoveries_follow_up as follow_up

    warnings = follow_up()
    for warning in warnings:
        logger.warning(
            "insurer recovery %(recovery_id)s (%(incident_code)s, policy %(policy_number)s): "
            "%(step)s due %(due_at)s%(late)s",
            {**warning, "late": " - OVERDUE" if warning["overdue"] else ""},
        )
    return {"warnings": len(warnings)}


@shared_task(name="reserves.ledger_reconcile")
def ledger_reconcile() -> dict:
    """Beat: check the ledger; log an error naming every account that does not reconcile."""
    from reserves.selectors import ledger_reconcile as reconcile

    report = reconcile()
    for problem in report.problems:
        logger.error("ledger does not reconcile: %s", problem)
    return {"ok": report.ok, "accounts": report.accounts_checked, "problems": report.problems}


@shared_task(name="reserves.liabilities_publish", **RECEIPT_RETRY)
def liabilities_publish(incident_code: str) -> dict:
    """After an incident is settled: publish its proof of liabilities (a new signed tree each run)."""
    from audit.services import Actor
    from reserves.liabilities import incident_liabilities_publish

    tree = incident_liabilities_publish(actor=Actor.system("reserves:liabilities"), incident_code=incident_code)
    return {"incident": incident_code, "count": tree.count, "total_jpy": tree.total_jpy, "root": tree.root}


@shared_task(name="reserves.unclaimed_sweep", **RETRYABLE)
def unclaimed_sweep() -> dict:
    """Beat: payouts returned or undeliverable past UNCLAIMED_AFTER_DAYS become unclaimed (held for deposit)."""
    from reserves.unclaimed import unclaimed_sweep as sweep

    return {"unclaimed": sweep()}
