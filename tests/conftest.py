"""Shared fixtures: API clients per role, PostgreSQL-only marks, a real Celery worker, a real browser."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from config.roles import Role
from tests.factories import user_with_role

CHROMIUM = Path("/usr/bin/chromium")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (make test does)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


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
    from celery.contrib.testing.worker import start_worker
    from django.conf import settings

    from config.celery import app

    if not settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL (make test does)")
    app.conf.task_always_eager = False
    app.control.purge()
    try:
        with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING") as worker:
            yield worker
    finally:
        app.conf.task_always_eager = True
        from django.db import connections

        connections.close_all()


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
    yield browser_page
    browser_page.screenshot(path=str(tmp_path / f"{request.node.name}-final.png"), full_page=True)
    context.close()


def browser_login(page, username: str, password: str) -> None:
    """Log in; approvers and admins then pass the TOTP page (enrolling on first use) with a computed code."""
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_load_state("networkidle")
    for _attempt in range(2):
        if "/account/two-factor/" not in page.url:
            return
        _second_factor_enter(page, username)


def _second_factor_enter(page, username: str) -> None:
    import time

    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.factories import otp_code

    device = TOTPDevice.objects.filter(user__username=username).order_by("-confirmed", "-pk").first()
    if device.last_t >= int((time.time() - device.t0) // device.step):
        time.sleep(device.step - (time.time() - device.t0) % device.step + 0.2)  # a code works once: wait for the next
    page.fill("input[name=otp_token]", otp_code(device))
    page.click("button[type=submit].primary")
    page.wait_for_load_state("networkidle")


@pytest.fixture
def exchange_core(tmp_path: Path, settings) -> Iterator[object]:
    """The exchange core reference server in its own process on a free port; settings point the rail at it."""
    from tests.exchange_core_server import KEY_ID, SECRET, core_server_start

    server = core_server_start(tmp_path)
    settings.EXCHANGE_CORE_URL = server.url
    settings.EXCHANGE_CORE_KEY_ID = KEY_ID
    settings.EXCHANGE_CORE_SECRET = SECRET
    settings.EXCHANGE_CORE_TIMEOUT_SECONDS = 5
    yield server
    server.stop()
