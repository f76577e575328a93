"""Fixtures every test package may use (registered by tests/conftest.py as a pytest plugin).

Every test starts in the site's language; API clients per role, a real Celery worker, real `celery worker`
processes, fast payout settings, and Debian's Chromium driven by Playwright.
"""

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from core.roles import Role
from tests.support.browser import screenshot
from tests.support.factories import user_with_role

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(autouse=True)
def site_language() -> Iterator[None]:
    """Each test starts in the site's default language (Japanese). A request through Django's test client
    activates the language it asked for in this thread and leaves it active, so without this a test would read
    whatever language the test before it last requested."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def celery_may_wait_for_results() -> None:
    """Each test starts with Celery's process-wide "would a join block?" flag cleared.

    Eager tasks set and restore that flag around each call with no lock, so tests filing from several
    threads at once (eager tasks publish after each commit) can leave it set; a later test in the same
    process that waits for a real worker's result would then be refused ("Never call result.get() within
    a task!"). Production never waits for a result; only the tests do.
    """
    from celery.result import _set_task_join_will_block

    _set_task_join_will_block(False)


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def api_as():
    """api_as(role) -> an APIClient logged in as a new user with that role (or api_as(user))."""

    def make(who: Role | object) -> APIClient:
        user = user_with_role(who) if isinstance(who, Role) else who
        client = APIClient()
        client.force_authenticate(user)
        client.user = user
        return client

    return make


@pytest.fixture
def celery_worker(transactional_db: None) -> Iterator[object]:
    """A real Celery worker (threads) consuming from Redis, against the test database."""
    from django.conf import settings

    from config.celery import app
    from tests.support.workers import embedded_worker

    if not settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL (make test does)")
    app.conf.task_always_eager = False
    app.control.purge()
    try:
        with embedded_worker(app) as worker:
            yield worker
            _worker_drained()
    finally:
        app.conf.task_always_eager = True
        from django.db import connections

        connections.close_all()


def _worker_drained(timeout: float = 20) -> None:
    """Let the test's trailing work finish (a last round, receipts, e-mails) before its database is emptied.

    A task still running when pytest-django empties the tables deadlocks with it, and one left queued
    would run in the next test of this process. Gives up after `timeout` (a task waiting for its retry time).
    """
    from celery.worker import state

    from operations.selectors import queue_lengths
    from tests.support.workers import wait_until

    def idle() -> bool:
        waiting = sum(queue.length for queue in queue_lengths())
        return not waiting and not state.active_requests and not state.reserved_requests

    # What is still left after `timeout` waits for its retry time; the next test purges the queue before it starts.
    with contextlib.suppress(AssertionError):
        wait_until(idle, timeout=timeout, what="the test's worker to go idle")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (installed by `make test`)."""
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: `make test` installs Debian's chromium package")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from
    # the test body are still synchronous, so its async-safety guard does not apply.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh browser page on the live test server; a screenshot of its last state goes to tmp_path."""
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    browser_page = context.new_page()
    browser_page.set_default_timeout(15_000)
    browser_page.screenshots = tmp_path  # tests save named screenshots here too
    # Every page must work under the site's Content-Security-Policy: Chromium reports each thing it blocked.
    # A test may name outside URLs whose refusal is the point (browser_page.csp_refusals_expected).
    blocked: list[str] = []
    browser_page.csp_refusals_expected = ()
    browser_page.on(
        "console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None
    )
    yield browser_page
    screenshot(browser_page, tmp_path / f"{request.node.name}-final.png")
    context.close()
    unexpected = [text for text in blocked if not any(url in text for url in browser_page.csp_refusals_expected)]
    assert unexpected == [], f"blocked by the Content-Security-Policy: {unexpected}"


@pytest.fixture
def payout_settings(settings, tmp_path):
    """Fast, deterministic payouts: no waiting between attempts, a file store of the test's own (bank files)."""
    settings.PAYOUT_RETRY_BASE_SECONDS = 0
    settings.PAYOUT_CHUNK_SIZE = 50
    settings.PAYOUT_PARALLEL_TASKS = 1
    settings.SANDBOX_RAIL_FAILURE_RATE = 0.0
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path / "files")}},
    }


@pytest.fixture
def worker_env_for(transactional_db, settings):
    """worker_env_for(**settings) -> env for real `celery worker` processes against this test's database and queue.

    Tasks queued by the test go to the same (per-run) queue, no longer eager.
    """
    from django.db import connection

    from benchmarks.workers import database_url_of, worker_env
    from config.celery import app

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


@pytest.fixture
def exchange_core(tmp_path: Path, settings) -> Iterator[object]:
    """The exchange core reference server in its own process on a free port; settings point the rail at it."""
    from tests.support.exchange_core import KEY_ID, SECRET, core_server_start

    server = core_server_start(tmp_path)
    settings.EXCHANGE_CORE_URL = server.url
    settings.EXCHANGE_CORE_KEY_ID = KEY_ID
    settings.EXCHANGE_CORE_SECRET = SECRET
    settings.EXCHANGE_CORE_TIMEOUT_SECONDS = 5
    yield server
    server.stop()
