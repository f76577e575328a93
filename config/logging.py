"""Structured logs: one JSON object per line on stderr, each carrying the request or task id of the audit trail.

Every log record, ours or a library's, goes through structlog's ProcessorFormatter. `request_id` is the value
audit events store for the same request or task (`audit.context.request_or_task_id`: the request's
X-Request-ID, or `task:<celery id>`), so a log line leads to the events of its request and back.
LOG_FORMAT=console prints the same records for people instead of machines.
"""

from typing import Any

import structlog

from audit.context import request_or_task_id


def add_request_id(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    request_id = request_or_task_id()
    if request_id:
        event_dict.setdefault("request_id", request_id)
    return event_dict


PRE_CHAIN: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    add_request_id,
]


def logging_config(*, level: str, fmt: str) -> dict[str, Any]:
    """The LOGGING dict for Django: stdlib logging rendered by structlog (JSON unless fmt is "console")."""
    renderer = structlog.dev.ConsoleRenderer(colors=False) if fmt == "console" else structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[*PRE_CHAIN, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
                "foreign_pre_chain": PRE_CHAIN,
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
    }
