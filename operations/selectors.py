"""The operator's figures, read once for both the metrics endpoint and the operations page.

Every figure is read now (no cache): payouts by rail and status (one grouped count), the broker's queue
lengths, the outbox's backlog, the newest checkpoint's age, the reserve
against its minimum.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from audit.checkpoints import checkpoint_latest
from audit.models import Event
from reserves.selectors.rails import rail_status_counts
from reserves.selectors.reserve import reserve_position

# kombu's Redis transport keeps a queue's messages of each priority step in a list of its own:
# "<queue>" and "<queue>\x06\x16<step>" (steps 3, 6 and 9 by default).
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


@dataclass(frozen=True)
class Queue:
    name: str
    length: int


@dataclass(frozen=True)
class Outbox:
    pending: int
    oldest_age_seconds: float


@dataclass(frozen=True)
class Overview:
    now: dt.datetime
    payouts: dict[str, dict[str, dict]]
    queues: list[Queue] | None  # None: no broker (embedded profile) or it did not answer
    queue_error: str
    outbox: Outbox
    events: int
    checkpoint_size: int | None
    checkpoint_signed_at: dt.datetime | None
    checkpoint_interval_seconds: float
    reserve_balance_jpy: int
    reserve_required_jpy: int
    failed_payouts: int = field(default=0)

    @property
    def checkpoint_age_seconds(self) -> float | None:
        if self.checkpoint_signed_at is None:
            return None
        return max(0.0, (self.now - self.checkpoint_signed_at).total_seconds())

    @property
    def checkpoint_stale(self) -> bool:
        """No checkpoint, or one older than two signing intervals (the alert's rule)."""
        age = self.checkpoint_age_seconds
        return age is None or age > 2 * self.checkpoint_interval_seconds

    @property
    def reserve_below_minimum(self) -> bool:
        return self.reserve_balance_jpy < self.reserve_required_jpy

    @property
    def checkpoint_behind(self) -> int:
        """Events written since the newest checkpoint."""
        return self.events - (self.checkpoint_size or 0)


def queue_names() -> list[str]:
    return list(dict.fromkeys([settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_FOLLOWUP_QUEUE]))


def queue_lengths() -> list[Queue]:
    """Messages waiting in each Celery queue on the Redis broker (raises when Redis does not answer)."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        pipe = client.pipeline(transaction=False)
        names = queue_names()
        for name in names:
            for suffix in _PRIORITY_SUFFIXES:
                pipe.llen(name + suffix)
        lengths = pipe.execute()
    finally:
        client.close()
    steps = len(_PRIORITY_SUFFIXES)
    return [Queue(name, sum(lengths[i * steps : (i + 1) * steps])) for i, name in enumerate(names)]


def outbox_backlog() -> Outbox:
    """The transactional outbox's backlog: messages not yet handed to the broker, and the oldest one's age."""
    from core import outbox

    return Outbox(pending=outbox.pending_count(), oldest_age_seconds=outbox.lag_seconds())


def overview() -> Overview:
    queues: list[Queue] | None = None
    queue_error = ""
    if settings.REDIS_URL and not settings.CELERY_TASK_ALWAYS_EAGER:
        try:
            queues = queue_lengths()
        except Exception as exc:
            queue_error = f"{type(exc).__name__}: {exc}"[:200]
    checkpoint = checkpoint_latest()
    position = reserve_position()
    payouts = rail_status_counts()
    return Overview(
        now=timezone.now(),
        payouts=payouts,
        queues=queues,
        queue_error=queue_error,
        outbox=outbox_backlog(),
        events=Event.objects.aggregate(m=Max("seq"))["m"] or 0,
        checkpoint_size=checkpoint.size if checkpoint else None,
        checkpoint_signed_at=checkpoint.signed_at if checkpoint else None,
        checkpoint_interval_seconds=float(settings.AUDIT_CHECKPOINT_INTERVAL),
        reserve_balance_jpy=position.balance_jpy,
        reserve_required_jpy=position.required_jpy,
        failed_payouts=sum(statuses.get("failed", {}).get("count", 0) for statuses in payouts.values()),
    )
