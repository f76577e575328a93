"""A PostgreSQL restart mid-run: the web process (gunicorn) and the Celery workers recover on their own.

A PRIVATE PostgreSQL (initdb + pg_ctl in a temporary directory, on a port of its own) and a private Redis,
never the machine's shared servers. Connections are health-checked before reuse (CONN_HEALTH_CHECKS), so
the first request or task after the restart gets a fresh connection instead of an error.
"""

import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
from kombu import Connection

from benchmarks.workers import worker_env, worker_processes
from config.celery import app
from tests.support.servers import PrivatePostgres, PrivateRedis, free_port
from tests.support.workers import wait_until

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PG_PORT, REDIS_PORT, WEB_PORT = free_port(), free_port(), free_port()

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def servers():
    # A directory of our own (pytest's temporary directories may be pruned by other runs on the machine).
    directory = Path(tempfile.mkdtemp(prefix="claims-recovery-"))
    postgres = PrivatePostgres(directory / "pg", PG_PORT)
    postgres.start()
    redis = PrivateRedis(directory, REDIS_PORT)
    redis.start()
    saved = app.conf.broker_url
    app.conf.broker_url = redis.url  # the workers are pinged through it
    app._pool, app.amqp._producer_pool = None, None
    app.conf.task_always_eager = False
    try:
        with psycopg.connect(postgres.url("postgres"), autocommit=True) as connection:
            connection.execute("CREATE DATABASE claims")
        yield postgres, redis
    finally:
        app.conf.broker_url = saved
        app._pool, app.amqp._producer_pool = None, None
        app.conf.task_always_eager = True
        try:
            redis.stop()
        finally:
            postgres.stop()
            shutil.rmtree(directory, ignore_errors=True)


def _get(path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{WEB_PORT}{path}", timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _outbox_message(database_url: str) -> int:
    """A pending outbox row, as a committed change writes it: the relay must publish it and mark it sent."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        row = connection.execute(
            "INSERT INTO outbox_outboxmessage (task_name, args, queue, available_at, coalesce_key, created_at, "
            "attempts, last_error) VALUES ('audit.chain_verify', '[]', '', now(), '', now(), 0, '') RETURNING id"
        ).fetchone()
    assert row is not None
    return row[0]


def _sent(database_url: str, message_id: int) -> bool:
    try:
        with psycopg.connect(database_url, autocommit=True) as connection:
            row = connection.execute("SELECT sent_at FROM outbox_outboxmessage WHERE id = %s", [message_id]).fetchone()
        return bool(row and row[0])
    except psycopg.OperationalError:
        return False


def _relay(redis_url: str, queue: str) -> None:
    """What beat does every OUTBOX_RELAY_SECONDS: queue the relay."""
    with Connection(redis_url) as broker:
        app.send_task("core.outbox_relay", connection=broker, queue=queue, ignore_result=True)


def test_the_web_process_and_the_workers_recover_from_a_postgresql_restart(servers, tmp_path):
    postgres, redis = servers
    database_url = postgres.url("claims")
    queue = f"recovery-{uuid.uuid4().hex[:8]}"
    env = worker_env(database_url=database_url, redis_url=redis.url, queue=queue, CELERY_FOLLOWUP_QUEUE=queue)
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert migrated.returncode == 0, migrated.stderr[-3000:]

    web_env = {
        **env,
        "HOST": "127.0.0.1",
        "PORT": str(WEB_PORT),
        "WEB_WORKERS": "1",
        "WEB_THREADS": "2",
        "SECURE_SSL_REDIRECT": "0",
    }
    log = (tmp_path / "gunicorn.log").open("w")
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn_conf.py", "config.wsgi"],
        cwd=BASE_DIR,
        env=web_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", WEB_PORT), timeout=0.5).close()
                break
            except OSError:
                assert web.poll() is None and time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.2)
        with worker_processes(env=env, count=1, concurrency=2) as (worker,):
            # Before: pages read the database, the worker relays the outbox. Both threads keep a connection.
            for _ in range(4):
                assert _get("/api/audit/public-keys/") == 200
            before = _outbox_message(database_url)
            _relay(redis.url, queue)
            wait_until(lambda: _sent(database_url, before), timeout=60, what="the relay before the restart")

            postgres.restart()  # every open connection is cut

            # After: each request and task is served, none answers 500 on a dead connection.
            statuses = [_get("/api/audit/public-keys/") for _ in range(6)]
            assert statuses == [200] * 6, statuses
            after = _outbox_message(database_url)
            _relay(redis.url, queue)
            wait_until(
                lambda: _sent(database_url, after), timeout=60, what=f"the relay after the restart: {worker.log_tail()}"
            )

            # A task that runs while PostgreSQL is down fails on the database and is retried until it is back.
            during = _outbox_message(database_url)
            postgres.stop()
            _relay(redis.url, queue)
            time.sleep(2)
            postgres.start()
            wait_until(lambda: _sent(database_url, during), timeout=90, what=f"the retried relay: {worker.log_tail()}")
            assert _get("/api/audit/public-keys/") == 200
    finally:
        web.terminate()
        web.wait(timeout=30)
        log.close()
    assert "Traceback" not in (tmp_path / "gunicorn.log").read_text()
