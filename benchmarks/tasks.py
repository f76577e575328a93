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


@shared_task(name="benchmarks.claims_file", **RETRYABLE)
def claims_file(incident_id: int, customer_ids: list[int], disputing: list[int]) -> int:
    """`bench pipeline`'s filing: each customer files through the real service (`claim_file`), one call each.

    Customers in `disputing` claim an asset the snapshot does not give them (a disputed line with a
    reason); the others accept the snapshot. Idempotent per customer (the idempotency key), so a
    retried task files nobody twice.
    """
    from decimal import Decimal

    from claims.models import Customer, Incident
    from claims.services import ClaimLineInput, PayoutInput, claim_file

    incident = Incident.objects.get(pk=incident_id)
    disputes = set(disputing)
    payout = PayoutInput(
        method="bank",
        bank_code="0001",
        branch_code="001",
        account_type="1",
        account_number="1234567",
        holder_name="ﾍﾞﾝﾁ",
    )
    filed = 0
    for customer in Customer.objects.filter(pk__in=customer_ids).select_related("user").order_by("pk"):
        lines = (
            [ClaimLineInput(symbol="ETH", claimed_quantity=Decimal(1), reason="bench: a deposit the snapshot missed")]
            if customer.pk in disputes
            else None
        )
        result = claim_file(
            customer=customer, incident=incident, lines=lines, payout=payout, idempotency_key=f"bench-{customer.pk}"
        )
        filed += result.created
    return filed
