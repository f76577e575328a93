"""The outbox relay, run by beat (OUTBOX_RELAY_SECONDS)."""

from celery import shared_task
from django.db import DatabaseError

from core import outbox


# A database that is restarting fails a run: it is tried again (backing off), as beat would anyway.
@shared_task(
    name="core.outbox_relay",
    ignore_result=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=1,
    retry_backoff_max=10,
    max_retries=8,
)
def outbox_relay() -> dict[str, int]:
    """Publish what the broker did not take after commit (it was down), then purge old sent rows."""
    return {"published": outbox.relay(), "purged": outbox.purge()}
