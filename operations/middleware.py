"""Probes answered before anything else, and every request counted and logged (one JSON line each)."""

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from operations import views
from operations.metrics import REQUEST_SECONDS, REQUESTS

logger = logging.getLogger("claims.request")
PROBE_PATHS = ("/healthz", "/readyz", "/metrics")


class ProbeMiddleware:
    """First in the chain: /healthz, /readyz and /metrics skip sessions, locale, host checks and sign-in.

    A load balancer asks by the machine's address (not a name in ALLOWED_HOSTS) and must not open a session or
    write an audit event at every probe.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info.rstrip("/")
        if path in PROBE_PATHS:
            return {"/healthz": views.healthz, "/readyz": views.readyz, "/metrics": views.metrics}[path](request)
        return self.get_response(request)


class RequestLogMiddleware:
    """Count the request (method, status) and its duration; log it with the request id its audit events carry.

    Sits inside audit's RequestContextMiddleware (both right after the probes), so the id is set while it logs.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        method = request.method if request.method in {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"} else "OTHER"
        REQUESTS.labels(method, str(response.status_code)).inc()
        REQUEST_SECONDS.labels(method).observe(seconds)
        logger.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
        return response
