"""Prometheus metrics: requests counted as they are served, the rest read from the database at each scrape.

Request counters live in the process that served the request. Under gunicorn (several worker processes) set
PROMETHEUS_MULTIPROC_DIR to an empty directory shared by the workers: prometheus-client then keeps the
counters in files there and /metrics sums every worker's (docs/operations.md, "Metrics").
"""

import os
from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from operations.selectors import overview

REQUESTS = Counter("claims_http_requests", "HTTP requests served, by method and status code", ["method", "status"])
REQUEST_SECONDS = Histogram(
    "claims_http_request_duration_seconds",
    "Time to answer an HTTP request, by method",
    ["method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0),
)


class StateCollector:
    """Gauges read from the database and the broker when Prometheus scrapes."""

    def collect(self) -> Iterator[Metric]:
        state = overview()
        payouts = GaugeMetricFamily("claims_payouts", "Payouts by rail and status", labels=["rail", "status"])
        amounts = GaugeMetricFamily(
            "claims_payouts_amount_jpy", "Sum of payouts by rail and status (yen)", labels=["rail", "status"]
        )
        for rail, statuses in sorted(state.payouts.items()):
            for status, row in sorted(statuses.items()):
                payouts.add_metric([rail, status], row["count"])
                amounts.add_metric([rail, status], row["amount_jpy"])
        yield payouts
        yield amounts
        yield GaugeMetricFamily(
            "claims_payouts_failed", "Payouts in status failed (every rail)", value=state.failed_payouts
        )
        queues = GaugeMetricFamily("claims_queue_length", "Tasks waiting in each Celery queue", labels=["queue"])
        for queue in state.queues or []:
            queues.add_metric([queue.name], queue.length)
        yield queues
        yield GaugeMetricFamily(
            "claims_queue_up", "1 when the broker answered the queue lengths", value=0 if state.queue_error else 1
        )
        yield GaugeMetricFamily("claims_outbox_pending", "Outbox rows not yet relayed", value=state.outbox.pending)
        yield GaugeMetricFamily(
            "claims_outbox_lag_seconds",
            "Age of the oldest outbox row not yet relayed",
            value=state.outbox.oldest_age_seconds,
        )
        yield GaugeMetricFamily("claims_audit_events", "Events in the audit trail", value=state.events)
        yield GaugeMetricFamily(
            "claims_audit_checkpoint_size",
            "Tree size of the newest signed checkpoint",
            value=state.checkpoint_size or 0,
        )
        age = state.checkpoint_age_seconds
        yield GaugeMetricFamily(
            "claims_audit_checkpoint_age_seconds",
            "Seconds since the newest checkpoint was signed (+Inf when there is none)",
            value=float("inf") if age is None else age,
        )
        yield GaugeMetricFamily(
            "claims_audit_checkpoint_interval_seconds",
            "How often checkpoints are signed (AUDIT_CHECKPOINT_INTERVAL)",
            value=state.checkpoint_interval_seconds,
        )
        yield GaugeMetricFamily(
            "claims_reserve_balance_jpy", "Liability reserve balance (yen)", value=state.reserve_balance_jpy
        )
        yield GaugeMetricFamily(
            "claims_reserve_required_jpy",
            "Required minimum of the liability reserve (yen)",
            value=state.reserve_required_jpy,
        )


def exposition() -> bytes:
    """The text format Prometheus scrapes: this process's (or every worker's) request metrics, then the state."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        requests = CollectorRegistry()
        MultiProcessCollector(requests)
    else:
        requests = REGISTRY
    state = CollectorRegistry(auto_describe=False)
    state.register(StateCollector())
    return generate_latest(requests) + generate_latest(state)
