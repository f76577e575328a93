"""The outbox relay, run by beat (OUTBOX_RELAY_SECONDS)."""

from celery import shared_task

from core import outbox


@shared_task(name="core.outbox_relay", ignore_result=True)
def outbox_relay() -> dict[str, int]:
    """Publish what the broker did not take after commit (it was down), then purge old sent rows."""
    return {"published": outbox.relay(), "purged": outbox.purge()}
