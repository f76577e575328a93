"""Talking to the Celery broker by task name: the lookup, one quick publish, the coalescing marks.

Shared by core.dispatch (queueing) and core.outbox (relaying); imports neither.
"""

import logging
import threading
from typing import Any

from celery import Task, current_app
from django.core.cache import cache

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
                _tasks_modules_import()
    return current_app.tasks[task_name]


def _tasks_modules_import() -> None:
    """Import each installed app's tasks module (Celery's autodiscovery), the caller holding `_import_lock`.

    Not through `loader.import_default_modules()`: that also fires Celery's worker set-up for Django, which runs
    `django.setup()` again (re-applying LOGGING, so every handler attached to the root logger since start is
    dropped, mid-request) and all of Django's system checks (0.35 s), in a web process that is no worker.
    """
    current_app.autodiscover_tasks(force=True)


def coalescing_claim(key: str, task_name: str, seconds: float) -> bool:
    """Mark a run as waiting under `key` for `seconds`; False if one already waits. Without a cache: True."""
    try:
        return bool(cache.add(key, task_name, timeout=seconds))
    except Exception:  # the cache is an optimisation: without it, queue the run anyway
        logger.warning("coalescing unavailable for %s", key, exc_info=True)
        return True


def coalescing_release(key: str) -> None:
    """Forget the mark of a run that could not be queued, so the next attempt queues it."""
    try:
        cache.delete(key)
    except Exception:
        logger.warning("coalescing mark %s not released", key, exc_info=True)


def publish_message(
    task_name: str,
    args: list[Any],
    *,
    task_id: str,
    countdown: float | None,
    queue: str | None,
    connection: Any,
) -> None:
    """Hand one message to the broker on `connection`, once: no publish retries (the outbox retries)."""
    options: dict[str, Any] = {"task_id": task_id, "connection": connection, "retry": False, "ignore_result": True}
    if countdown:
        options["countdown"] = countdown
    if queue:
        options["queue"] = queue
    task_named(task_name)  # imports the tasks modules, so routing by name finds the task's queue
    current_app.send_task(task_name, args=args, **options)


def tasks_import() -> None:
    """Import every installed app's tasks module and set up the broker side now (web processes call it at start,
    see config/wsgi.py)."""
    with _import_lock:
        _tasks_modules_import()
    # Celery builds its producer pool and result backend on the first task sent: build them now too.
    current_app.producer_pool  # noqa: B018
    current_app.backend  # noqa: B018
