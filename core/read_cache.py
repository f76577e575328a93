"""Figures that many readers ask for within the same second, computed once per process per interval.

Process-local (Django's in-memory cache, alias "local"): nothing to reach over the network, so an
outage of Redis never slows a read, and a value is never older than its interval. Used for the
regulator's incident summary (REGULATOR_SUMMARY_CACHE_SECONDS).
"""

from collections.abc import Callable
from typing import TypeVar

from django.core.cache import caches

T = TypeVar("T")


def cached_for(key: str, seconds: int, compute: Callable[[], T]) -> T:
    """`compute()`'s value, kept for `seconds` under `key` in this process (computed every time when 0)."""
    if seconds <= 0:
        return compute()
    local = caches["local"]
    value = local.get(key)
    if value is None:
        value = compute()
        local.set(key, value, timeout=seconds)
    return value
