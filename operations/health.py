"""What a load balancer asks: is the process alive (/healthz), and can it serve (/readyz)?

Readiness is four checks, each a few lines, run in order and each bounded by a short timeout: the database
answers, Redis answers (when the production profile uses it), every migration is applied, the audit signing key
loads. (django-health-check's current releases need Python 3.14; these four are all we need.)
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    @property
    def label(self) -> str:
        return str(CHECK_LABELS.get(self.name, self.name))


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _redis() -> str:
    if not settings.REDIS_URL:
        return _("not used (embedded profile)")
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return "ping"


def _migrations() -> str:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _backwards in plan[:5])
        raise RuntimeError(f"{len(plan)} migration(s) not applied: {names}")
    return _("all applied")


def _signing_key() -> str:
    from audit.signing import signer

    return _("key %(key_id)s") % {"key_id": signer().key_id[:16]}


# What the operations page calls each check (/readyz answers with the names).
CHECK_LABELS = {
    "database": gettext_lazy("Database"),
    "redis": gettext_lazy("Redis (broker)"),
    "migrations": gettext_lazy("Database migrations"),
    "signing_key": gettext_lazy("Audit signing key"),
}

CHECKS: tuple[tuple[str, Callable[[], str]], ...] = (
    ("database", _database),
    ("redis", _redis),
    ("migrations", _migrations),
    ("signing_key", _signing_key),
)


def readiness() -> list[Check]:
    """Every check with its outcome; a check that raises is not ready, with the error as its detail."""
    results = []
    for name, check in CHECKS:
        try:
            results.append(Check(name, True, check()))
        except Exception as exc:
            results.append(Check(name, False, f"{type(exc).__name__}: {exc}"[:300]))
    return results
