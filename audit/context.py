"""Who is acting and under which request or task: kept in context variables.

The request middleware and Celery's task signals set them; `event_record`
reads them, so services need not pass request ids around.
"""

from contextvars import ContextVar, Token

current_request_id: ContextVar[str] = ContextVar("audit_request_id", default="")
current_task: ContextVar[tuple[str, str] | None] = ContextVar("audit_task", default=None)


def connect_celery_signals() -> None:
    """Make every task's events carry the task name and id."""
    from celery.signals import task_postrun, task_prerun

    tokens: dict[str, Token[tuple[str, str] | None]] = {}

    @task_prerun.connect(weak=False)
    def _task_started(task_id: str | None = None, task: object = None, **kwargs: object) -> None:
        name = getattr(task, "name", "task")
        tokens[task_id or ""] = current_task.set((name, task_id or ""))

    @task_postrun.connect(weak=False)
    def _task_finished(task_id: str | None = None, **kwargs: object) -> None:
        token = tokens.pop(task_id or "", None)
        if token is not None:
            try:
                current_task.reset(token)
            except ValueError:  # set in another context (eager nesting); clear instead
                current_task.set(None)
