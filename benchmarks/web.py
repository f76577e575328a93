"""`python manage.py bench web`: launch day on the web tier — customers sign in, read their holdings and file.

Prepares `--customers` customers with logins (bulk SQL: the snapshot import, then one
INSERT … SELECT each for users, links and group memberships), starts gunicorn on
127.0.0.1 with the bench's settings (benchmarks/web_settings.py: a cheap password hash,
nothing else changed) and runs locust headless against it (benchmarks/locust_web.py),
bounded in time (`--seconds`) and in count (each prepared customer files once):

1. surge: `--users` customers at once, no think time: sign in (token), holdings, file;
2. pages: `--page-users` customers and regulators reading pages with ~1 s think time, arriving
   at `--page-spawn-rate` a second (50 over 5 s by default; 0 sends all in the same instant);
3. regulator: `--regulator-users` regulators reading the incident summary, no think time
   (each read is itself audited: do the readers queue behind each other?).

The naive reference is the same surge against `manage.py runserver` (what the production
profile used to serve with) for `--naive-seconds`. Prints one JSON line. Leaves the
incident, its customers and claims behind (the trail is append-only): use a scratch database.
"""

import csv
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection, transaction

from audit.services import staged_events_drain
from benchmarks.approvals import _write_snapshot
from benchmarks.hashers import BenchPBKDF2PasswordHasher
from benchmarks.snapshot import ACTOR, bench_incident
from claims import services
from claims.models import Incident
from claims.services.handoff import fund_open_for
from core.roles import Role

BASE_DIR = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent
LOCUSTFILE = BASE_DIR / "benchmarks" / "locust_web.py"


def add_arguments(parser: Any) -> None:
    parser.add_argument("--customers", type=int, default=260_000, help="prepared customers (each files at most once)")
    parser.add_argument("--users", type=int, default=64, help="concurrent customers in the surge")
    parser.add_argument("--seconds", type=int, default=60, help="length of the surge")
    parser.add_argument("--page-users", type=int, default=50, help="concurrent readers of pages (half regulators)")
    parser.add_argument("--page-seconds", type=int, default=30)
    parser.add_argument(
        "--page-spawn-rate", type=float, default=10, help="readers starting per second (0: all in the same instant)"
    )
    parser.add_argument("--page-wait", type=float, default=1.0, help="mean think time between page reads (s)")
    parser.add_argument("--regulator-users", type=int, default=16, help="regulators on the summary, no think time")
    parser.add_argument("--regulator-seconds", type=int, default=20)
    parser.add_argument("--naive-seconds", type=int, default=20, help="the surge against runserver (0: skip)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "4")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "2")))
    parser.add_argument("--port", type=int, default=8150)
    parser.add_argument(
        "--phases", default="surge,pages,regulator,naive", help="which of surge,pages,regulator,naive to run"
    )


def _prepare(*, customers: int, code: str, prefix: str, password_hash: str) -> None:
    """An open incident (fund open, no invitations sent) whose customers each have a login."""
    incident = bench_incident(code)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "snapshot.csv"
        _write_snapshot(path, customers=customers, prefix=prefix)
        with path.open("rb") as handle:
            services.snapshot_import(actor=ACTOR, incident=incident, file=handle, file_name="bench-web.csv")
    with transaction.atomic(), connection.cursor() as cursor:
        Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.OPEN)
        incident.refresh_from_db()
        fund_open_for(incident=incident)
        pattern = prefix + "%"
        cursor.execute(
            """
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                                   is_staff, is_active, date_joined)
            SELECT %s, false, c.account_id, '', '', c.email, false, true, now()
            FROM claims_customer c WHERE c.account_id LIKE %s
            """,
            [password_hash, pattern],
        )
        cursor.execute(
            "UPDATE claims_customer c SET user_id = u.id FROM auth_user u "
            "WHERE u.username = c.account_id AND c.account_id LIKE %s",
            [pattern],
        )
        cursor.execute(
            "INSERT INTO auth_user_groups (user_id, group_id) SELECT u.id, g.id FROM auth_user u, auth_group g "
            "WHERE g.name = %s AND u.username LIKE %s",
            [Role.CUSTOMER.value, pattern],
        )
        cursor.execute(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
            "is_active, date_joined) VALUES (%s, false, %s, '', '', '', false, true, now())",
            [password_hash, f"{prefix}regulator"],
        )
        cursor.execute(
            "INSERT INTO auth_user_groups (user_id, group_id) SELECT u.id, g.id FROM auth_user u, auth_group g "
            "WHERE g.name = %s AND u.username = %s",
            [Role.REGULATOR.value, f"{prefix}regulator"],
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE auth_user; ANALYZE claims_customer; ANALYZE claims_holding")


def _wait_for(url: str, *, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 (our own 127.0.0.1 server)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _free(port: int) -> None:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"port {port} is in use; pass --port")


def _database_url() -> str:
    """The database this process uses (under pytest, the test database), for the server it starts."""
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        raise SystemExit("bench web needs PostgreSQL (DATABASE_URL)")
    credentials = quote(db["USER"] or "", safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


def _server_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=_database_url(),
        DJANGO_SETTINGS_MODULE="benchmarks.web_settings",
        DEBUG="0",
        SECRET_KEY=env.get("SECRET_KEY") or secrets.token_urlsafe(40),
        ALLOWED_HOSTS="127.0.0.1",
        # Plain HTTP on loopback, as behind the TLS-terminating proxy: no redirect to https, cookies over http.
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
        SECURE_HSTS_SECONDS="0",
    )
    env.pop("DJANGO_TESTING", None)
    return env


def _start_server(*, kind: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    _free(port)
    if kind == "gunicorn":
        command = [
            str(BIN / "gunicorn"),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ]
    else:
        command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--nostatic"]
    server = subprocess.Popen(  # noqa: S603 (our own executables)
        command, cwd=BASE_DIR, env=_server_env(), stdout=subprocess.DEVNULL, start_new_session=True
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/login/", seconds=180)  # a loaded machine boots slowly
    except BaseException:
        _stop(server)  # never leave a server behind (it runs in a session of its own)
        raise
    return server


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _locust(
    *,
    classes: list[str],
    users: int,
    seconds: int,
    port: int,
    env: dict[str, str],
    out: Path,
    spawn_rate: float | None = None,
) -> dict[str, dict[str, float]]:
    """Run locust headless (all users at once unless `spawn_rate` is given); return its figures per request name."""
    command = [
        str(BIN / "locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(spawn_rate or users),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "10",
        "--host",
        f"http://127.0.0.1:{port}",
        "--csv",
        str(out),
        "--only-summary",
        "--loglevel",
        "WARNING",
        *classes,
    ]
    started = time.perf_counter()
    subprocess.run(  # noqa: S603
        command, cwd=BASE_DIR, env={**os.environ, **env}, check=False, stdout=sys.stderr, stderr=sys.stderr
    )
    elapsed = time.perf_counter() - started
    figures: dict[str, dict[str, float]] = {}
    with open(f"{out}_stats.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            figures[row["Name"]] = {
                "count": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "per_s": round(float(row["Requests/s"]), 1),
                "p50_ms": float(row["50%"] or 0),
                "p95_ms": float(row["95%"] or 0),
                "p99_ms": float(row["99%"] or 0),
                "max_ms": round(float(row["Max Response Time"] or 0), 1),
            }
    figures["_wall"] = {"seconds": round(elapsed, 1)}
    return figures


def _cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds (user + system) spent so far by the server and by PostgreSQL, each a process tree.

    A tree's count is its root's own time, the time of the children it has reaped (a PostgreSQL
    backend ends with its connection) and that of its live children, so it only grows. PostgreSQL
    counts every server (a `postgres` process whose parent is not one) on the machine: here it runs
    on the same box. Read from /proc; empty where there is none. The difference over a phase, divided
    by its filings, is what one filing costs each tier: the capacity a number of cores gives.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    processes: dict[int, tuple[str, int, list[int]]] = {}  # pid -> (name, parent, [utime, stime, cutime, cstime])
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        processes[int(entry.name)] = (name, int(fields[1]), [int(n) for n in fields[11:15]])

    def tree(root: int) -> float:
        own = sum(processes[root][2]) if root in processes else 0
        children = sum(sum(times[:2]) for _name, parent, times in processes.values() if parent == root)
        return (own + children) / tick

    servers = [
        pid
        for pid, (name, parent, _times) in processes.items()
        if name == "postgres" and processes.get(parent, ("",))[0] != "postgres"
    ]
    return {"web": tree(server_pid), "postgres": sum(tree(pid) for pid in servers)}


def _cpu_per_filing(before: dict[str, float], after: dict[str, float], *, filed: int, seconds: float) -> dict:
    """Each tier's CPU milliseconds per filing and the cores it kept busy over the phase."""
    if not before or not filed or not seconds:
        return {}
    spent = {tier: after[tier] - before[tier] for tier in before}
    return {
        **{f"{tier}_ms_per_filing": round(1000 * cpu / filed, 1) for tier, cpu in spent.items()},
        **{f"{tier}_cores": round(cpu / seconds, 2) for tier, cpu in spent.items()},
    }


def _uptime() -> str:
    """The machine's load averages (1, 5, 15 minutes), as `uptime` prints them."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(**options: Any) -> dict[str, Any]:
    customers: int = options["customers"]
    port: int = options["port"]
    stamp = secrets.token_hex(3)
    code = f"bench-web-{stamp}"
    prefix = f"WB{stamp}-"
    password = secrets.token_urlsafe(12)
    password_hash = BenchPBKDF2PasswordHasher().encode(password, BenchPBKDF2PasswordHasher().salt())
    load_before = _uptime()

    started = time.perf_counter()
    _prepare(customers=customers, code=code, prefix=prefix, password_hash=password_hash)
    prepare_seconds = time.perf_counter() - started
    print(f"prepared {customers:,} customers in {prepare_seconds:.1f} s", file=sys.stderr)

    env = {
        "BENCH_WEB_INCIDENT": code,
        "BENCH_WEB_USERNAME": prefix + "{i:07d}",
        "BENCH_WEB_PASSWORD": password,
        "BENCH_WEB_REGULATOR": f"{prefix}regulator",
        "BENCH_WEB_WAIT": str(options["page_wait"]),
    }
    phases = set(options["phases"].split(","))
    naive_count = max(customers // 10, 1) if options["naive_seconds"] and "naive" in phases else 0
    surge_count = customers - naive_count
    result: dict[str, Any] = {"bench": "web", "n": customers, "prepare_seconds": round(prepare_seconds, 1)}
    surge: dict[str, dict[str, float]] = {"_wall": {"seconds": 0.0}}
    surge_cpu: dict[str, float] = {}
    pages: dict[str, dict[str, float]] = {}
    regulator: dict[str, dict[str, float]] = {}
    naive: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        server = _start_server(kind="gunicorn", port=port, workers=options["workers"], threads=options["threads"])
        try:
            filed = 0
            if "surge" in phases:
                cpu_before = _cpu_seconds(server.pid)
                surge = _locust(
                    classes=["SurgeCustomer"],
                    users=options["users"],
                    seconds=options["seconds"],
                    port=port,
                    env={**env, "BENCH_WEB_FIRST": "0", "BENCH_WEB_COUNT": str(surge_count)},
                    out=out / "surge",
                )
                filed = int(surge.get("POST /api/claims/", {"count": 0})["count"])
                surge_cpu = _cpu_per_filing(
                    cpu_before, _cpu_seconds(server.pid), filed=filed, seconds=surge["_wall"]["seconds"]
                )
            # The readers are customers who filed in the surge; without a surge, customers who have not.
            readers = filed if "surge" in phases else options["page_users"]
            if "pages" in phases:
                pages = _locust(
                    classes=["PageCustomer", "PageRegulator"],
                    users=options["page_users"],
                    seconds=options["page_seconds"],
                    port=port,
                    env={**env, "BENCH_WEB_FIRST": "0", "BENCH_WEB_COUNT": str(max(readers, 1))},
                    out=out / "pages",
                    spawn_rate=options["page_spawn_rate"],
                )
            if "regulator" in phases:
                regulator = _locust(
                    classes=["SummaryRegulator"],
                    users=options["regulator_users"],
                    seconds=options["regulator_seconds"],
                    port=port,
                    env=env,
                    out=out / "regulator",
                )
        finally:
            _stop(server)
        if naive_count:
            server = _start_server(kind="runserver", port=port, workers=1, threads=1)
            try:
                naive = _locust(
                    classes=["SurgeCustomer"],
                    users=options["users"],
                    seconds=options["naive_seconds"],
                    port=port,
                    env={**env, "BENCH_WEB_FIRST": str(surge_count), "BENCH_WEB_COUNT": str(naive_count)},
                    out=out / "naive",
                )
            finally:
                _stop(server)

    # The reads' staged events, appended to the log as the worker's drain would (untimed by locust).
    started = time.perf_counter()
    drained = staged_events_drain()
    result["staged_events_drained"] = drained
    result["drain_seconds"] = round(time.perf_counter() - started, 2)
    filing = surge.get("POST /api/claims/", {})
    fast_per_s = filing.get("per_s", 0.0)
    naive_per_s = naive.get("POST /api/claims/", {}).get("per_s", 0.0)
    page_rows = {name: figures for name, figures in pages.items() if name.startswith("page ")}
    result.update(
        {
            "seconds": surge["_wall"]["seconds"],
            "fast_per_s": fast_per_s,
            "naive_per_s": naive_per_s,
            "ratio": round(fast_per_s / naive_per_s, 1) if naive_per_s else None,
            "filed": filed,
            "filing_p99_ms": filing.get("p99_ms"),
            "errors": sum(int(f.get("failures", 0)) for name, f in surge.items() if name != "Aggregated"),
            "surge": surge,
            "surge_cpu": surge_cpu,
            "pages_p95_ms_max": max((f["p95_ms"] for f in page_rows.values()), default=None),
            "pages_errors": sum(int(f["failures"]) for f in page_rows.values()),
            "pages": pages,
            "regulator_summary": regulator.get("GET /api/regulator/incidents/[code]/summary/"),
            "naive": naive.get("POST /api/claims/"),
            "workers": options["workers"],
            "threads": options["threads"],
            "users": options["users"],
            "page_spawn_rate": options["page_spawn_rate"] or options["page_users"],
            "load_before": load_before,
            "load_after": _uptime(),
        }
    )
    return result
