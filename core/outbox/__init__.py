"""The transactional outbox: work after commit written in the change's own transaction, relayed to Celery.

`core.dispatch.enqueue_after_commit` writes one `OutboxMessage` row in the caller's transaction and,
once it commits, tries to publish it at once (best effort: one quick attempt, no retries, so a request
never waits on a broker that is down). Whatever is still pending is published by the relay
(`relay()`, the beat task `core.outbox_relay` every OUTBOX_RELAY_SECONDS), which takes rows with
`SKIP LOCKED` so several relays share them. A row is marked sent only after the broker accepted the
message; a relay that dies between the two publishes it again, and a task may be delivered twice
anyway (acks_late), so every task queued this way is idempotent — or, for side effects outside the
database (emails), guarded by `once()`.

Queryable for monitoring: `pending_count()` and `lag_seconds()` (the age of the oldest message due
and not yet sent). Decision: docs/decisions/0014-transactional-outbox.md.
"""

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

if TYPE_CHECKING:
    from core.outbox.models import OutboxMessage

logger = logging.getLogger(__name__)
TASK_ID_PREFIX = "outbox-"


def record(
    task_name: str,
    args: Iterable[Any],
    *,
    countdown: float | None = None,
    queue: str | None = None,
    coalesce: tuple[str, float] | None = None,
) -> int:
    """Write the message in the current transaction and publish it after commit (never if it rolls back)."""
    from core.outbox.models import OutboxMessage

    now = timezone.now()
    message = OutboxMessage.objects.create(
        task_name=task_name,
        args=list(args),
        queue=queue or "",
        available_at=now + timedelta(seconds=countdown) if countdown else now,
        coalesce_key=coalesce[0] if coalesce else "",
        coalesce_seconds=coalesce[1] if coalesce else None,
        created_at=now,
    )
    transaction.on_commit(lambda: publish([message.pk]), robust=True)
    return message.pk


def publish(ids: list[int]) -> int:
    """Publish these pending messages now, best effort: a broker that is down leaves them to the relay."""
    from core.outbox.models import OutboxMessage

    try:
        with transaction.atomic():
            rows = _locked_pending(OutboxMessage.objects.filter(pk__in=ids))
            return _publish_rows(rows)
    except Exception:  # the change is committed; the relay publishes what is still pending
        logger.warning("outbox: publishing after commit failed; the relay will retry", exc_info=True)
        return 0


def relay(*, batch_size: int | None = None, max_batches: int = 100) -> int:
    """Publish pending messages, oldest first, `batch_size` per transaction; stop at the first broker failure."""
    from core.outbox.models import OutboxMessage

    size = batch_size or settings.OUTBOX_RELAY_BATCH_SIZE
    published = 0
    for _ in range(max_batches):
        with transaction.atomic():
            rows = _locked_pending(OutboxMessage.objects.all(), limit=size)
            if not rows:
                break
            sent = _publish_rows(rows)
        published += sent
        if sent < len(rows):
            break  # the broker refused: try again on the next run
    return published


def purge(*, older_than: timedelta | None = None) -> int:
    """Delete sent messages and delivery marks older than OUTBOX_KEEP_DAYS."""
    from core.outbox.models import OutboxDelivery, OutboxMessage

    cutoff = timezone.now() - (older_than or timedelta(days=settings.OUTBOX_KEEP_DAYS))
    messages, _ = OutboxMessage.objects.filter(sent_at__isnull=False, created_at__lt=cutoff).delete()
    marks, _ = OutboxDelivery.objects.filter(delivered_at__lt=cutoff).delete()
    return messages + marks


def pending_count() -> int:
    """Messages written and not yet accepted by the broker (due now or later)."""
    from core.outbox.models import OutboxMessage

    return OutboxMessage.objects.filter(sent_at__isnull=True).count()


def lag_seconds() -> float:
    """How long the oldest message that is due has waited for the broker (0 when none is waiting)."""
    from core.outbox.models import OutboxMessage

    now = timezone.now()
    oldest = OutboxMessage.objects.filter(sent_at__isnull=True, available_at__lte=now).aggregate(
        oldest=Min("available_at")
    )["oldest"]
    return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0


@contextmanager
def once(key: str) -> Iterator[bool]:
    """`with once(key) as first:` — True the first time `key` is seen; the mark stands only if the block succeeds.

    For side effects outside the database (an email): the block runs in a transaction holding the
    mark, so a delivery that fails leaves no mark (the retry sends), and a second delivery of the
    same task (same task id) finds the mark and does nothing.
    """
    from core.outbox.models import OutboxDelivery

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {OutboxDelivery._meta.db_table} (key, delivered_at) VALUES (%s, %s) "
                "ON CONFLICT (key) DO NOTHING",
                [key, timezone.now()],
            )
            first = cursor.rowcount == 1
        yield first


def _locked_pending(rows: Any, *, limit: int | None = None) -> list["OutboxMessage"]:
    pending = rows.filter(sent_at__isnull=True).order_by("pk")
    pending = pending.select_for_update(skip_locked=True)
    return list(pending[:limit] if limit else pending)


def _publish_rows(rows: list["OutboxMessage"]) -> int:
    """Send the rows on one broker connection; mark those the broker accepted; note the first failure."""
    from core.broker import coalescing_claim, coalescing_release, publish_message
    from core.outbox.models import OutboxMessage

    if not rows:
        return 0
    from celery import current_app

    sent: list[int] = []
    try:
        broker = current_app.pool.acquire(block=True, timeout=5)  # pooled: no new connection per commit
        try:
            # One quick attempt: a broker that is down fails this in milliseconds, not after retries.
            broker.ensure_connection(max_retries=0)
            now = timezone.now()
            for row in rows:
                countdown = max(0.0, (row.available_at - now).total_seconds()) or None
                key = ""
                if row.coalesce_key and row.coalesce_seconds and row.coalesce_seconds > 0:
                    if not coalescing_claim(row.coalesce_key, row.task_name, row.coalesce_seconds):
                        sent.append(row.pk)  # a run queued under the key is still waiting: it covers this one
                        continue
                    key, countdown = row.coalesce_key, row.coalesce_seconds
                try:
                    publish_message(
                        row.task_name,
                        row.args,
                        task_id=f"{TASK_ID_PREFIX}{row.pk}",
                        countdown=countdown,
                        queue=row.queue or None,
                        connection=broker,
                    )
                except Exception:
                    if key:
                        coalescing_release(key)
                    raise
                sent.append(row.pk)
        except Exception:
            broker.collect()  # forget a connection that may be dead: the pool's next user connects afresh
            raise
        finally:
            broker.release()
    except Exception as error:
        failed = rows[len(sent)] if len(sent) < len(rows) else None
        if failed is not None:
            OutboxMessage.objects.filter(pk=failed.pk).update(
                attempts=failed.attempts + 1, last_error=f"{type(error).__name__}: {error}"[:2000]
            )
        logger.warning("outbox: the broker refused %s (%d sent before)", failed, len(sent), exc_info=True)
    if sent:
        OutboxMessage.objects.filter(pk__in=sent).update(sent_at=timezone.now())
    return len(sent)
