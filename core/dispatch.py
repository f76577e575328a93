"""The one seam through which services start work after their transaction commits, by task name.

Services never import tasks (tasks import services). A service says what
should happen once its change is committed:

    enqueue_after_commit("claims.claim_notify", claim.pk, "approved")

and the named Celery task is queued when the transaction commits, or never if
it rolls back. Under the embedded profile (and in tests) Celery runs the task
in-process at that moment; in production a worker picks it up (queues are
routed by name in settings.CELERY_TASK_ROUTES).

The body is a transactional outbox (core/outbox, docs/decisions/0014): the
work is written as a row in the caller's transaction, published once the
transaction commits (one quick attempt), and relayed by a beat task if the
broker was down then. A committed change therefore never loses its work and
never waits on the broker; a task may be delivered twice and is idempotent.
Under the embedded profile and in tests (tasks eager, no broker) the task runs
in-process at commit, as before, without a row.

One deliberate exception: activation links asked for on the password reset page
are emailed in-process after commit (claims/services/activation.py), because the
plain one-time tokens must not travel through the broker (or an outbox table).
"""

from functools import partial
from typing import Any

from celery import current_app
from django.db import transaction

from core.broker import coalescing_claim, coalescing_release, task_named


def enqueue(task_name: str, *args: Any, countdown: float | None = None, queue: str | None = None) -> None:
    """Queue the task now: for views and commands acting outside a transaction (a staff "run now" button).

    With a broker this too goes through the outbox (a row, published at once or relayed later), so a
    button pressed while Redis is down answers at once and its work is done when Redis is back.
    """
    if not current_app.conf.task_always_eager:
        from core import outbox

        outbox.record(task_name, args, countdown=countdown, queue=queue)
        return
    options: dict[str, Any] = {}
    if countdown is not None:
        options["countdown"] = countdown
    if queue is not None:
        options["queue"] = queue
    task_named(task_name).apply_async(args=args, **options)


def enqueue_coalesced(task_name: str, *args: Any, key: str, seconds: float) -> None:
    """Queue the task to run in `seconds`, unless a run queued under `key` is still waiting.

    Many requests in a short time then make one run (it sees everything
    committed before it starts). The marks live in the cache (one per key,
    expiring with the interval); without a cache the task is queued anyway.
    With `seconds` <= 0, or tasks run in-process (eager), it is queued now.
    """
    if seconds <= 0 or current_app.conf.task_always_eager:
        enqueue(task_name, *args)
        return
    if coalescing_claim(key, task_name, seconds):
        try:
            enqueue(task_name, *args, countdown=seconds)
        except Exception:
            coalescing_release(key)
            raise


def enqueue_after_commit(
    task_name: str,
    *args: Any,
    countdown: float | None = None,
    queue: str | None = None,
    robust: bool = False,
    coalesce: tuple[str, float] | None = None,
) -> None:
    """Queue the task once the current transaction commits (never if it rolls back).

    With a broker the work is an outbox row written in the current transaction
    (core.outbox.record): it survives a broker outage and is relayed later, so
    the change always stands. In-process (eager) the task runs at commit;
    `robust=True` then logs a failure instead of raising it (sweeps find the work).
    `coalesce=(key, seconds)`: at most one run per key and interval (enqueue_coalesced).
    Arguments must be JSON-serialisable (ids, references, short strings); a batch of
    work is one call (one row).
    """
    if not current_app.conf.task_always_eager:
        from core import outbox

        outbox.record(task_name, args, countdown=countdown, queue=queue, coalesce=coalesce)
        return
    if coalesce is not None:
        key, seconds = coalesce
        transaction.on_commit(partial(enqueue_coalesced, task_name, *args, key=key, seconds=seconds), robust=robust)
        return
    transaction.on_commit(partial(enqueue, task_name, *args, countdown=countdown, queue=queue), robust=robust)
