"""Celery tasks of the payout workflow. Thin: load by id, call one service; every task is safe to run twice.

Settings: acks_late, reject_on_worker_lost and prefetch 1 (config/settings.py)
mean a task whose worker dies is delivered again; the services' row locks,
rounds and idempotency keys make the second delivery a no-op or a resume.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError

from audit.services import Actor
from audit.signing import SigningKeyMissing
from core.dispatch import enqueue
from reserves import engine, selectors, services
from reserves.selectors.receipts import payouts_without_receipt
from reserves.services.liabilities import incident_liabilities_publish

logger = logging.getLogger(__name__)
RETRYABLE = {"autoretry_for": (DatabaseError,), "retry_backoff": True, "retry_backoff_max": 60, "max_retries": 10}


@shared_task(name="reserves.incident_allocate", **RETRYABLE)
def incident_allocate(incident_code: str, reason: str = "") -> dict:
    """Run the waterfall for an incident; a new round queues the drainers."""
    result = engine.allocation_run(actor=None, incident_code=incident_code, reason=reason)
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
    chunk = engine.payouts_allocate_chunk(
        fund_id=fund_id, limit=settings.PAYOUT_CHUNK_SIZE, after_id=after_id, admitted_round=admitted_round
    )
    outcome = engine.instructions_send(instructions=chunk.instructions)
    processed = chunk.processed
    # The next link of the chain goes through the outbox: with the broker down it waits there, not lost.
    if processed:
        enqueue("reserves.payouts_process", fund_id, chunk.last_id, admitted_round)
    elif after_id:
        enqueue("reserves.payouts_process", fund_id, 0, admitted_round)
    elif admitted_round is None:
        outcome["orphans_sent"] = engine.payouts_send_due(fund_id=fund_id)
    return {"fund_id": fund_id, "after_id": after_id, "processed": processed, **outcome}


@shared_task(name="reserves.payouts_send", **RETRYABLE)
def payouts_send(payout_ids: list[int]) -> dict:
    """Send (again) these payouts, the ones that are due; the others wait for their own retry time."""
    return engine.payouts_dispatch(payout_ids=payout_ids)


@shared_task(name="reserves.payouts_sweep")
def payouts_sweep() -> dict:
    """Beat: queue work for funds that fell behind and send due payouts nobody is sending."""
    return engine.payouts_sweep()


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
        issued = services.payout_receipts_issue(payout_ids=payout_ids)
    except SigningKeyMissing as exc:
        logger.warning("payout receipts not issued for %d payouts (the sweep retries): %s", len(payout_ids), exc)
        return {"issued": 0, "skipped": exc.code}
    return {"issued": issued}


@shared_task(name="reserves.payout_receipts_sweep", **RECEIPT_RETRY)
def payout_receipts_sweep() -> dict:
    """Beat: issue receipts for paid payouts that still lack one (a lost message, a missing key)."""
    try:
        issued = services.payout_receipts_sweep()
    except SigningKeyMissing as exc:
        missing = payouts_without_receipt().count()
        if missing:
            logger.error("%d paid payouts have no receipt and none can be signed: %s", missing, exc)
        return {"issued": 0, "skipped": exc.code, "missing": missing}
    return {"issued": issued}


@shared_task(name="reserves.recoveries_follow_up")
def recoveries_follow_up() -> dict:
    """Beat: warn about insurer notice and proof-of-loss deadlines that are near or past."""
    warnings = services.recoveries_follow_up()
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
    report = selectors.ledger_reconcile()
    for problem in report.problems:
        logger.error("ledger does not reconcile: %s", problem)
    return {"ok": report.ok, "accounts": report.accounts_checked, "problems": report.problems}


@shared_task(name="reserves.liabilities_publish", **RECEIPT_RETRY)
def liabilities_publish(incident_code: str) -> dict:
    """After an incident is settled: publish its proof of liabilities (a new signed tree each run)."""
    tree = incident_liabilities_publish(actor=Actor.system("reserves:liabilities"), incident_code=incident_code)
    return {"incident": incident_code, "count": tree.count, "total_jpy": tree.total_jpy, "root": tree.root}


@shared_task(name="reserves.unclaimed_sweep", **RETRYABLE)
def unclaimed_sweep() -> dict:
    """Beat: payouts returned or undeliverable past UNCLAIMED_AFTER_DAYS become unclaimed (held for deposit)."""
    return {"unclaimed": services.unclaimed_sweep()}
