import pytest

from reserves import signals


@pytest.fixture(autouse=True)
def _payout_settings(settings, tmp_path):
    """Fast, deterministic payouts: no waiting between attempts, a private Zengin outbox."""
    settings.PAYOUT_RETRY_BASE_SECONDS = 0
    settings.PAYOUT_CHUNK_SIZE = 50
    settings.PAYOUT_PARALLEL_TASKS = 1
    settings.SANDBOX_RAIL_FAILURE_RATE = 0.0
    settings.ZENGIN_OUTBOX_DIR = tmp_path / "zengin"


@pytest.fixture
def received():
    """Every payout signal sent, as (name, kwargs)."""
    seen: list[tuple[str, dict]] = []

    def receiver(name):
        def handle(sender, **kwargs):
            kwargs.pop("signal", None)
            seen.append((name, kwargs))

        return handle

    handlers = {name: receiver(name) for name in ("paid", "failed", "completed")}
    signals.payout_paid.connect(handlers["paid"])
    signals.payout_failed.connect(handlers["failed"])
    signals.payout_completed.connect(handlers["completed"])
    yield seen
    signals.payout_paid.disconnect(handlers["paid"])
    signals.payout_failed.disconnect(handlers["failed"])
    signals.payout_completed.disconnect(handlers["completed"])


@pytest.fixture
def worker_env_for(transactional_db, settings):
    """worker_env_for(**settings) -> env for real `celery worker` processes against this test's database and queue.

    Tasks queued by the test go to the same (per-run) queue, no longer eager.
    """
    from django.db import connection

    from config.celery import app
    from reserves.workers import database_url_of, worker_env

    if not settings.REDIS_URL or connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL and Redis (make test sets both)")
    database_url = database_url_of(connection)
    app.conf.task_always_eager = False
    app.control.purge()

    def make(**overrides):
        return worker_env(
            database_url=database_url,
            redis_url=settings.REDIS_URL,
            queue=settings.CELERY_TASK_DEFAULT_QUEUE,
            **{
                # Follow-up work (claims marked paid, receipts) on the same queue, signed with this run's key.
                "CELERY_FOLLOWUP_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
                "AUDIT_SIGNING_KEY": settings.AUDIT_SIGNING_KEY,
                "PAYOUT_RETRY_BASE_SECONDS": "0.2",
                "PAYOUT_LEASE_SECONDS": "5",
                "CELERY_VISIBILITY_TIMEOUT": "8",
                "CELERY_RESTORE_INTERVAL": "2",
                **overrides,
            },
        )

    yield make
    app.control.purge()
    app.conf.task_always_eager = True
    from django.db import connections

    connections.close_all()
