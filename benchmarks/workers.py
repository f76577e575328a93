"""Start and stop real `celery -A config worker` processes on a queue of their own.

Used by `manage.py bench payouts` and by the reliability tests: they need
worker processes (not threads) against a given database and Redis, which
they can time, kill with SIGKILL and restart.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from config.celery import app

BASE_DIR = Path(__file__).resolve().parent.parent


def routes_set(routes: dict) -> None:
    """Route this process's tasks by `routes` (CELERY_TASK_ROUTES form) from now on.

    Celery builds its routing table and router once and keeps them; setting
    app.conf.task_routes alone would change nothing after the first task was sent,
    and a benchmark's routes would outlive it.
    """
    app.conf.task_routes = routes
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)


class WorkerProcess:
    def __init__(
        self, *, name: str, queue: str, env: dict[str, str], concurrency: int, pool: str, cwd: Path | None = None
    ) -> None:
        self.name = name
        self.queue = queue
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queue,
            "-n",
            name,
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            f"--loglevel={os.environ.get('BENCH_WORKER_LOGLEVEL', 'WARNING')}",
        ]
        # The log goes to a file: a pipe nobody reads fills up and blocks the worker.
        self.log = tempfile.NamedTemporaryFile(prefix=f"celery-{name.split('@')[0]}-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command,
            cwd=cwd or BASE_DIR,
            # From another working directory (a test of scale-out) the project is found through PYTHONPATH.
            env={**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(BASE_DIR), env.get("PYTHONPATH", "")]))},
            start_new_session=True,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def log_tail(self, size: int = 4000) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-size:]

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited: {self.log_tail()}")
            if app.control.ping(destination=[self.name], timeout=0.5):
                return
        raise TimeoutError(f"worker {self.name} did not answer within {timeout} s")

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once: no warm shutdown, no acknowledgement."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """Warm shutdown (finish the running task), then SIGKILL if it takes too long."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()
        if not os.environ.get("BENCH_KEEP_WORKER_LOGS"):  # set it to read the workers' logs after a run
            Path(self.log.name).unlink(missing_ok=True)


def worker_env(*, database_url: str, redis_url: str, queue: str, **settings: object) -> dict[str, str]:
    """The environment for a worker: our database and Redis, our queue, tasks not eager, extra settings."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
        "DEBUG": "0",  # as in production: no log of every query
    }
    env.setdefault("SECRET_KEY", "")
    if not env["SECRET_KEY"]:
        env["DJANGO_TESTING"] = "1"  # the development key: these workers only serve a test or a benchmark
    env.update({name: str(value) for name, value in settings.items()})
    return env


@contextmanager
def worker_processes(
    *,
    env: dict[str, str],
    count: int = 2,
    concurrency: int = 1,
    pool: str = "prefork",
    cwd: Path | None = None,
    queues: str = "",
) -> Iterator[list[WorkerProcess]]:
    """Start `count` workers on env["CELERY_QUEUE"] (or `queues`, comma-separated), wait until each answers,
    stop them at the end."""
    queue = queues or env["CELERY_QUEUE"]
    tag = uuid.uuid4().hex[:8]
    workers = [
        WorkerProcess(name=f"w{i}-{tag}@localhost", queue=queue, env=env, concurrency=concurrency, pool=pool, cwd=cwd)
        for i in range(count)
    ]
    try:
        for worker in workers:
            worker.wait_ready()
        yield workers
    finally:
        for worker in workers:
            worker.stop()


def database_url_of(connection) -> str:
    """The URL of the database a Django connection uses (the test database under pytest), for workers to share."""
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def queues_purge(*names: str) -> int:
    """Drop the messages waiting in the named queues; returns how many.

    `app.control.purge()` empties only the queues this process consumes from (its
    default queue), not a follow-up queue tasks were routed to: those messages
    stay and a worker started later runs them first.
    """
    dropped = 0
    with app.connection_for_write() as conn:
        for name in names:
            dropped += conn.default_channel.queue_purge(name) or 0
    return dropped
