"""The naive path of the payout benchmarks: one claim end to end in a task of its own.

A Celery task (benchmarks is an installed app, so workers started with `celery -A config worker` find it);
nothing in the apps queues it.
"""

from celery import shared_task
from django.db import DatabaseError

from reserves import engine
from reserves.models import Entitlement

RETRYABLE = {"autoretry_for": (DatabaseError,), "retry_backoff": True, "retry_backoff_max": 60, "max_retries": 10}


@shared_task(name="benchmarks.payout_process_single", **RETRYABLE)
def payout_process_single(entitlement_id: int) -> dict:
    """One claim end to end in its own task: the naive path the benchmark compares against."""
    fund_id = Entitlement.objects.filter(pk=entitlement_id).values_list("fund_id", flat=True).first()
    if fund_id is None:
        return {"entitlement_id": entitlement_id, "processed": 0}
    chunk = engine.payouts_allocate_chunk(fund_id=fund_id, limit=1, entitlement_ids=[entitlement_id])
    outcome = engine.instructions_send(instructions=chunk.instructions)
    return {"entitlement_id": entitlement_id, "processed": chunk.processed, **outcome}
