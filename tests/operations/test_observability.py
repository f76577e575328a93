"""Probes, metrics, structured logs and the alert rules (docs/operations.md, "Observability")."""

import io
import json
import logging
import re
from pathlib import Path

import pytest
import yaml
from django.db import connection
from django.test import Client

from audit.checkpoints import checkpoint_create
from audit.context import current_task
from audit.models import Event
from audit.services import Actor, event_record
from core.roles import Role
from operations.selectors import overview
from tests.support.factories import user_with_role
from tests.support.login import login_verified
from tests.support.money import fund_open, register, reserve_fund

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        base, _, label_text = sample.partition("{")
        got = ",".join(sorted(label_text.rstrip("}").split(","))) if label_text else ""
        if base == name and got == wanted:
            return float(value)
    raise AssertionError(f"no sample {name}{{{wanted}}}")


def test_healthz_answers_for_any_host_without_touching_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/healthz", HTTP_HOST="10.0.0.5")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "sessionid" not in response.cookies


def test_readyz_reports_each_check():
    response = Client().get("/readyz", HTTP_HOST="10.0.0.5")
    assert response.status_code == 200, response.content
    checks = response.json()["checks"]
    assert set(checks) == {"database", "redis", "migrations", "signing_key"}
    assert all(check["ok"] for check in checks.values())


def test_readyz_is_unavailable_without_the_signing_key(settings):
    settings.AUDIT_SIGNING_KEY = ""
    settings.AUDIT_SIGNING_KEY_FILE = ""
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["signing_key"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_readyz_is_unavailable_when_a_migration_is_not_applied():
    from django.db.migrations.loader import MigrationLoader

    app, name = next(node for node in MigrationLoader(connection).graph.leaf_nodes() if node[0] == "audit")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = %s AND name = %s", [app, name])
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert f"audit.{name}" in response.json()["checks"]["migrations"]["detail"]


def test_readyz_is_unavailable_when_redis_does_not_answer(settings):
    settings.REDIS_URL = "redis://127.0.0.1:8169/6"  # nothing listens there (this suite's port range)
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["ok"] is False


def test_metrics_answer_only_configured_addresses(settings):
    assert Client().get("/metrics").status_code == 200  # the test client comes from 127.0.0.1
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 404
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8"]
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client().get("/metrics").status_code == 404


def test_metrics_show_payouts_checkpoint_reserve_and_requests(django_capture_on_commit_callbacks, settings):
    settings.RESERVE_MINIMUM_FLOOR_JPY = 20_000_000
    reserve_fund(10_000_000)
    fund = fund_open()
    with django_capture_on_commit_callbacks(execute=True):
        register(fund, {"C-1": 100_000, "C-2": 250_000, "C-3": 1})
    checkpoint_create()
    Client().get("/healthz")  # answered by the probe middleware: not counted
    Client().get("/login/")

    text = Client().get("/metrics").content.decode()

    assert metric(text, "claims_payouts", rail="sandbox", status="paid") == 3
    assert metric(text, "claims_payouts_amount_jpy", rail="sandbox", status="paid") == 350_001
    assert metric(text, "claims_reserve_balance_jpy") == 10_000_000 - 350_001
    assert metric(text, "claims_reserve_required_jpy") == 20_000_000
    assert metric(text, "claims_payouts_failed") == 0
    assert 0 <= metric(text, "claims_audit_checkpoint_age_seconds") < 60
    assert metric(text, "claims_audit_checkpoint_size") == Event.objects.count()
    assert metric(text, "claims_audit_checkpoint_interval_seconds") == settings.AUDIT_CHECKPOINT_INTERVAL
    assert metric(text, "claims_http_requests_total", method="GET", status="200") >= 1


def test_queue_lengths_come_from_the_broker(settings):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL (make test does)")
    import redis

    from config.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False  # the overview reads the broker only when tasks go through it
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(queue)
    app.conf.task_always_eager = False  # and Celery publishes them there (no eager warning)
    try:
        for _ in range(3):
            app.send_task("audit.chain_verify", queue=queue)
        state = overview()
        assert state.queues is not None
        assert {q.name: q.length for q in state.queues}[queue] == 3
        text = Client().get("/metrics").content.decode()
        assert metric(text, "claims_queue_length", queue=queue) == 3
        assert metric(text, "claims_queue_up") == 1
    finally:
        app.conf.task_always_eager = True
        client.delete(queue)
        client.close()


def test_alert_rules_name_only_metrics_that_are_served():
    rules = yaml.safe_load((ROOT / "docs/alerts/claims.rules.yml").read_text())["groups"][0]["rules"]
    assert {"ReserveBelowMinimum", "CheckpointStale", "PayoutsFailing", "OutboxLag"} <= {r["alert"] for r in rules}
    served = set(re.findall(r"^# TYPE (claims_\w+) ", Client().get("/metrics").content.decode(), re.M))
    named = {name for rule in rules for name in re.findall(r"\bclaims_\w+", rule["expr"])}
    assert named - served == set()
    assert named & served  # the check compares something


def _json_lines(handler_stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in handler_stream.getvalue().splitlines() if line.startswith("{")]


@pytest.fixture
def log_lines():
    """The JSON lines the configured formatter writes, captured from the root logger."""
    stream = io.StringIO()
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    yield lambda: _json_lines(stream)
    root.removeHandler(handler)


def test_request_logs_are_json_with_the_request_id_the_trail_records(log_lines):
    client = Client()
    client.force_login(user_with_role(Role.REGULATOR))
    response = client.get("/regulator/", HTTP_X_REQUEST_ID="ops-req-0001-abcd")
    assert response.status_code == 200
    event = Event.objects.filter(action="regulator.viewed").latest("seq")
    line = next(line for line in log_lines() if line.get("event") == "request" and line.get("path") == "/regulator/")
    assert line["request_id"] == event.request_id == "ops-req-0001-abcd"
    assert (line["status"], line["method"], line["level"]) == (200, "GET", "info")
    assert "timestamp" in line and line["duration_ms"] >= 0


def test_task_logs_carry_the_task_id_the_trail_records(log_lines):
    from django.db import transaction

    token = current_task.set(("tests.some_task", "0f3c-task-id"))
    try:
        logging.getLogger("claims.tests").warning("inside a task")
        with transaction.atomic():
            event_record(actor=Actor.system("tests"), action="tests.logged", subject=("tests.thing", 1))
    finally:
        current_task.reset(token)
    line = next(line for line in log_lines() if line.get("event") == "inside a task")
    assert line["request_id"] == Event.objects.get(action="tests.logged").request_id == "task:0f3c-task-id"


def test_operations_page_for_staff_only(django_capture_on_commit_callbacks):
    reserve_fund(1_000_000)
    fund = fund_open()
    with django_capture_on_commit_callbacks(execute=True):
        register(fund, {"C-1": 1_000})
    checkpoint_create()
    reviewer = Client()
    login_verified(reviewer, user_with_role(Role.REVIEWER))  # staff need their second factor
    page = reviewer.get("/staff/operations/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="ops-payouts-chart"' in html and "<svg" in html
    assert 'data-testid="ops-reserve-chart"' in html
    assert 'data-check="signing_key" data-ok="1"' in html
    assert 'data-stale="0"' in html
    # In the page's language (Japanese by default): rails, statuses and checks by name, not by code.
    assert "サンドボックス" in html and "支払済み" in html and "監査ログの署名鍵" in html
    assert ">sandbox<" not in html and ">paid<" not in html
    for role in (Role.CUSTOMER, Role.REGULATOR):
        other = Client()
        other.force_login(user_with_role(role))
        assert other.get("/staff/operations/").status_code == 403
    assert Client().get("/staff/operations/").status_code == 302


def test_behind_pgbouncer_in_transaction_mode_no_server_side_cursors_prepared_statements_or_startup_options():
    import os
    import subprocess
    import sys

    code = (
        "import django, json; from django.conf import settings; django.setup(); "
        "d = settings.DATABASES['default']; "
        "print(json.dumps([d.get('DISABLE_SERVER_SIDE_CURSORS', False), 'prepare_threshold' in d.get('OPTIONS', {}), "
        "d['OPTIONS'].get('prepare_threshold', 'unset') if 'OPTIONS' in d else 'unset', "
        "d.get('OPTIONS', {}).get('options')]))"
    )
    base = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_TESTING": "1"}
    base["DATABASE_URL"] = "postgres://u@127.0.0.1:6432/claims"

    def settings_with(**env: str) -> list:
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env={**base, **env}, capture_output=True, text=True
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    # PgBouncer refuses a startup option it does not know: the planner's page cost is the server's there.
    assert settings_with(DATABASE_POOL_MODE="transaction") == [True, True, None, None]
    direct = settings_with()
    assert direct[:2] == [False, False]
    assert direct[3] == "-c random_page_cost=1.1"  # docs/decisions/0024
    assert settings_with(DATABASE_RANDOM_PAGE_COST="")[3] is None
