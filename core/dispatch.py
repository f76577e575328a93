"""The one seam through which services start work after their transaction commits, by task name.

Services never import tasks (tasks import services). A service says what
should happen once its change is committed:

    enqueue_after_commit("claims.claim_notify", claim.pk, "approved")

and the named Celery task is queued when the transaction commits, or never if
it rolls back. Under the embedded profile (and in tests) Celery runs the task
in-process at that moment; in production a worker picks it up (queues are
routed by name in settings.CELERY_TASK_ROUTES).

Today the body is `transaction.on_commit` plus Celery: a broker that is down
at the moment of commit loses the message, which the periodic sweeps make good
(hand-off, payouts, receipts). A transactional outbox (the work written as a
row in the same transaction, relayed to Celery) replaces the body of
`enqueue_after_commit` without changing any caller.

One deliberate exception: activation links asked for on the password reset page
are emailed in-process after commit (claims/services/activation.py), because the
plain one-time tokens must not travel through the broker (or an outbox table).
"""

import logging
import threading
from functools import partial
from typing import Any

from celery import Task, current_app
from celery.result import AsyncResult
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)


_import_lock = threading.Lock()


def task_named(task_name: str) -> Task:
    """The registered Celery task; the first lookup imports every installed app's tasks module.

    Under a lock: in a threaded web worker (gunicorn --threads) two first lookups at once
    otherwise race, and one sees the registry half filled (NotRegistered, a 500).
    """
    tasks = current_app.tasks
    if task_name not in tasks:
        with _import_lock:
            if task_name not in current_app.tasks:
                current_app.loader.import_default_modules()  # Celery's autodiscovery of <app>.tasks
    return current_app.tasks[task_name]


def tasks_import() -> None:
    """Import every installed app's tasks module and set up the broker side now (web processes call it at start,
    see config/wsgi.py)."""
    with _import_lock:
        current_app.loader.import_default_modules()
    # Celery builds its producer pool and result backend on the first task sent: build them now too.
    current_app.producer_pool  # noqa: B018
    current_app.backend  # noqa: B018


def enqueue(task_name: str, *args: Any, countdown: float | None = None, queue: str | None = None) -> AsyncResult:
    """Queue the task now: for views and commands acting outside a transaction (a staff "run now" button)."""
    options: dict[str, Any] = {}
    if countdown is not None:
        options["countdown"] = countdown
    if queue is not None:
        options["queue"] = queue
    return task_named(task_name).apply_async(args=args, **options)


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
    try:
        first = cache.add(key, task_name, timeout=seconds)
    except Exception:  # the cache is an optimisation: without it, queue the run anyway
        logger.warning("coalescing unavailable for %s", key, exc_info=True)
        first = True
    if first:
        enqueue(task_name, *args, countdown=seconds)


def enqueue_after_commit(
    task_name: str,
    *args: Any,
    countdown: float | None = None,
    queue: str | None = None,
    robust: bool = False,
    coalesce: tuple[str, float] | None = None,
) -> None:
    """Queue the task once the current transaction commits (never if it rolls back).

    `robust=True` when the change must stand even if queueing fails: the failure is
    logged and a periodic sweep finds the work (hand-off, receipts, paid claims).
    `coalesce=(key, seconds)`: at most one run per key and interval (enqueue_coalesced).
    Arguments must be JSON-serialisable (ids, references, short strings).
    """
    if coalesce is not None:
        key, seconds = coalesce
        transaction.on_commit(partial(enqueue_coalesced, task_name, *args, key=key, seconds=seconds), robust=robust)
        return
    transaction.on_commit(partial(enqueue, task_name, *args, countdown=countdown, queue=queue), robust=robust)
