"""The benchmarks' in-memory mail backend: builds every message as Django's locmem backend does, keeps a count.

Worker processes send the customers' e-mails; the benchmark process must know
how many were handed to the mail backend without keeping 500,000 messages in
each worker's memory. Each message is rendered to its MIME form (what
`locmem.EmailBackend` and the SMTP backend both do), then only counted, in Redis
under `BENCH_MAIL_COUNTER` (nothing is counted without it). Selected with the
EMAIL_BACKEND environment variable (config/settings.py).
"""

import functools
import os
from collections.abc import Sequence

import redis
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend


@functools.cache
def _redis() -> redis.Redis:
    """One client (and connection pool) per process: invitations send one message per call."""
    return redis.Redis.from_url(settings.REDIS_URL)


class CountingBackend(BaseEmailBackend):
    """Counts in Redis once per connection (`with get_connection()`), else once per call.

    Invitations go out one message per call on an open connection (each marked sent on its own); a
    Redis round trip per message cost a third of the invitation stage, which no real backend pays.
    """

    _pending: int | None = None  # messages counted since open(); None while not opened

    def open(self) -> bool:
        self._pending = 0
        return True

    def close(self) -> None:
        pending, self._pending = self._pending, None
        _count(pending or 0)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        count = 0
        for message in email_messages:
            message.message()  # the MIME message, as any real backend builds it
            count += 1
        if self._pending is None:
            _count(count)
        else:
            self._pending += count
        return count


def _count(messages: int) -> None:
    counter = os.environ.get("BENCH_MAIL_COUNTER")
    if counter and messages:
        _redis().incrby(counter, messages)


def mail_count(counter: str) -> int:
    """How many messages the workers' backends handed over under `counter` so far."""
    return int(_redis().get(counter) or 0)
