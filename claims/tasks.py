"""Celery tasks: thin wrappers that load by id and call one service."""

import math

from celery import Task, shared_task
from django.conf import settings
from django.db import OperationalError

from claims import notifications, services
from core import outbox
from core.dispatch import enqueue

# Deadlocks and dropped connections are transient; both tasks are idempotent, so run them again.
DB_RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "retry_backoff_max": 60, "max_retries": 10}


@shared_task(name="claims.invitations_dispatch")
def invitations_dispatch(incident_id: int) -> int:
    """Record who must be invited, then queue enough batch tasks to email them (workers share them)."""
    pending = services.invitations_prepare(incident_id=incident_id)
    batches = math.ceil(pending / settings.INVITATION_BATCH_SIZE)
    for _ in range(batches):  # through the outbox: with the broker down the batches wait there, not lost
        enqueue("claims.invitations_send", incident_id)
    return pending


@shared_task(name="claims.invitations_send", autoretry_for=(ConnectionError, OSError), retry_backoff=True)
def invitations_send(incident_id: int) -> int:
    """Email one batch of pending invitations (none twice, see services.invitations_send_batch)."""
    return services.invitations_send_batch(incident_id=incident_id, batch_size=settings.INVITATION_BATCH_SIZE)


# Emails leave the database: a second delivery of the same task (the outbox relayed it twice, or a worker died
# after sending) finds its mark (core.outbox.once) and sends nothing; a failed send leaves no mark and is retried.
@shared_task(
    bind=True, name="claims.claim_notify", autoretry_for=(ConnectionError, OSError), retry_backoff=True, max_retries=5
)
def claim_notify(self: Task, claim_id: int, kind: str, note: str = "") -> None:
    with outbox.once(f"claims.claim_notify:{self.request.id}") as first:
        if first:
            notifications.claim_notify(claim_id=claim_id, kind=kind, note=note)


@shared_task(
    bind=True, name="claims.notify_many", autoretry_for=(ConnectionError, OSError), retry_backoff=True, max_retries=5
)
def claims_notify_many(self: Task, claim_ids: list[int], kind: str) -> int:
    with outbox.once(f"claims.notify_many:{self.request.id}") as first:
        return notifications.claims_notify_many(claim_ids=claim_ids, kind=kind) if first else 0


@shared_task(name="claims.payouts_hand_off", **DB_RETRY)
def payouts_hand_off(claim_ids: list[int]) -> int:
    """Register newly approved claims with reserves (idempotent: a second delivery registers nothing)."""
    return services.claims_hand_off(claim_ids=claim_ids)


@shared_task(name="claims.payouts_hand_off_sweep")
def payouts_hand_off_sweep() -> dict[str, int]:
    """Periodic: hand off approved claims a lost message left behind, and record payments not yet recorded."""
    return services.claims_hand_off_sweep()


@shared_task(name="claims.paid_sync", **DB_RETRY)
def paid_sync(claim_refs: list[str]) -> int:
    """Record what reserves has paid on these claims: partly paid or paid in full (idempotent)."""
    return services.claims_paid_sync(claim_refs=claim_refs)


@shared_task(name="claims.appeal_windows_close", **DB_RETRY)
def appeal_windows_close() -> int:
    """Close passed appeal windows: their holdbacks fall to the decided amounts (idempotent)."""
    return services.appeal_windows_close()


@shared_task(name="claims.elections_follow_up")
def elections_follow_up() -> dict[str, int]:
    """Beat: election reminders before the deadline; defaults locked in at the deadline."""
    return services.elections_follow_up()


@shared_task(name="claims.payout_corrections_apply")
def payout_corrections_apply() -> int:
    """Beat: send again the payouts whose corrected details were accepted and whose cooling-off is over."""
    return services.payout_corrections_apply()
