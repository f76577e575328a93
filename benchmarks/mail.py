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
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        count = 0
        for message in email_messages:
            message.message()  # the MIME message, as any real backend builds it
            count += 1
        counter = os.environ.get("BENCH_MAIL_COUNTER")
        if counter and count:
            _redis().incrby(counter, count)
        return count


def mail_count(counter: str) -> int:
    """How many messages the workers' backends handed over under `counter` so far."""
    return int(_redis().get(counter) or 0)
