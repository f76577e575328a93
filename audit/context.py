"""Who is acting and under which request or task: kept in context variables.

The request middleware and Celery's task signals set them; `event_record`
reads them, so services need not pass request ids around.
"""

from contextvars import ContextVar, Token

current_request_id: ContextVar[str] = ContextVar("audit_request_id", default="")
current_task: ContextVar[tuple[str, str] | None] = ContextVar("audit_task", default=None)


def request_or_task_id() -> str:
    """The id the trail records for what runs now: `task:<celery id>` inside a task, else the request's id.

    Audit events store it in `request_id`; the structured logs carry the same value, so a log line and the
    events of one request or task are found by one id.
    """
    task = current_task.get()
    if task is not None and task[1]:
        return f"task:{task[1]}"
    return current_request_id.get()


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
