"""`python manage.py bench pipeline`: an incident replayed end to end, from its declaration to reconciled books.

Every stage goes through the services staff, customers and workers use, on
`celery worker` processes the command starts (REDIS_URL, the database
DATABASE_URL names), listening to the main and the follow-up queue:

1. `declare`: `incident_declare` with four assets, priced;
2. `import`: `snapshot_import` of a CSV of N customers (two assets each);
3. `invitations`: `incident_transition` to open, whose after-commit task
   invites every customer; timed until every invitation was handed to the
   mail backend (an in-memory one, benchmarks/mail.py, which builds each
   message and counts it);
4. `logins`: each customer gets a login (bulk-made, no password: activation
   hashes a password per customer, which is the web tier's cost, not the
   pipeline's — `bench web` measures sign-ins);
5. `filing`: one `claim_file` call per customer (95 % accept the snapshot,
   5 % dispute a line), the real service with its checks, audit event and
   "filed" e-mail, spread over the workers in tasks of `--file-chunk` customers;
6. `funding`: the reserve funded with what the claims ask (maker, checker);
7. `approval`: a reviewer builds the bulk batch (every claim matching the
   snapshot) and an approver approves it: from here the clock of `fast_per_s`
   runs. The approval's after-commit tasks do the rest on the workers:
   `hand_off` (claims registered with reserves), `payments` (allocation, the
   rails, the ledger: every claim paid), `marked_paid` (claims paid in full),
   `receipts` (every payout's signed receipt, with a checkpoint for its
   proof), `emails` (every "approved" and "paid" e-mail handed to the mail
   backend). Each is the seconds from the approval's start until that stage's
   last item; `seconds` is the slowest of them (approval to the last receipt
   and e-mail);
8. `verify`: the whole audit trail recomputed (`log_verify`), `reconcile`: the
   ledger (`ledger_reconcile`); both must be OK.

The naive reference runs on `--naive-claims` claims of a second incident,
filed and batch-approved the same way, then taken one claim at a time in this
process: hand-off, one allocation round, then for each claim its payment, its
"paid" state, its receipt (each with its checkpoint) and its e-mail.

Everything stays (the ledger and the trail are append-only): use a scratch database.
"""

import datetime as dt
import os
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from tqdm import tqdm

from audit.models import Event
from benchmarks.approvals import _write_snapshot, bench_staff
from benchmarks.mail import mail_count
from benchmarks.payouts_engine import CHECKER, MAKER
from benchmarks.snapshot import ACTOR
from benchmarks.workers import database_url_of, routes_set, worker_env, worker_processes
from claims import services
from claims.models import Claim, Customer, Incident, Invitation
from config.celery import app
from core.roles import Role
from core.types import User
from reserves import engine as reserve_engine
from reserves import services as reserve_services
from reserves.models import Account, Entitlement, IncidentFund, Payout
from reserves.selectors.receipts import payouts_without_receipt

DISPUTE_EVERY = 20  # one customer in 20 (5 %) disputes a line


def add_arguments(parser: Any) -> None:
    parser.add_argument("--customers", type=int, default=260_000, help="customers in the snapshot, one claim each")
    parser.add_argument("--naive-claims", type=int, default=200, help="claims taken one at a time (the sample)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes to start")
    parser.add_argument("--chunk", type=int, default=2_000, help="entitlements per allocation chunk")
    parser.add_argument("--file-chunk", type=int, default=500, help="customers per filing task")
    parser.add_argument("--stall", type=float, default=120, help="seconds without progress before giving up")
    parser.add_argument(
        "--filing",
        choices=("service", "bulk"),
        default="service",
        help="service: each claim through claim_file on the workers; bulk: claims bulk-made as `bench approvals` "
        "does (no service checks, no 'filed' e-mail), to reach the follow-up at a large N quickly",
    )


class _Stages:
    """Seconds per stage, in order, with a progress line on stderr."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, name: str, work: Callable[[], Any]) -> Any:
        print(f"[pipeline] {name} ...", file=sys.stderr)
        started = time.perf_counter()
        result = work()
        self.seconds[name] = round(time.perf_counter() - started, 3)
        return result


# The tables the replay fills, from empty to hundreds of thousands of rows while it runs.
FILLED_TABLES = (
    "claims_invitation",
    "claims_claim",
    "claims_claimline",
    "reserves_holdback",
    "reserves_entitlement",
    "reserves_payout",
    "audit_event",
    "audit_receipt",
)


class _Statistics:
    """What autovacuum's analyse does for the planner, where the server runs without it.

    PostgreSQL analyses a table once a tenth of it changed (autovacuum, on by default, wakes once a
    minute). A server with autovacuum off (this CI machine's) plans 260,000 payouts from the
    statistics of an empty table: a look-up of 2,000 claims' payments read every payout (0.5-1 s
    each). There, this analyses the filled tables once a minute while the replay waits, as
    autovacuum would; elsewhere it does nothing.
    """

    def __init__(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SHOW autovacuum")
            self.autovacuum = cursor.fetchone()[0]
        self.runs, self.last = 0, time.monotonic()

    def tick(self) -> None:
        if self.autovacuum == "on" or time.monotonic() - self.last < 60:
            return
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE " + ", ".join(FILLED_TABLES))
        self.runs, self.last = self.runs + 1, time.monotonic()


def _wait(
    what: str, total: int, count: Callable[[], int], workers: list, stall: float, stats: _Statistics | None = None
) -> None:
    """Poll `count()` until it reaches `total`, with a progress bar; fail with the workers' logs on a stall."""
    last, last_change = -1, time.monotonic()
    unit = "yen" if what == "payments" else "item"
    with tqdm(total=total, desc=what, unit=unit, unit_scale=True, file=sys.stderr, mininterval=0.5) as bar:
        while True:
            asked = time.perf_counter()
            done = count()
            # Counting 260,000 rows takes PostgreSQL tens of milliseconds: polling takes at most 10 % of a core
            # while a count takes under 0.1 s; a slower one is still asked once a second, so an end is seen soon.
            pause = min(1.0, max(0.1, 10 * (time.perf_counter() - asked)))
            bar.update(done - bar.n)
            if done >= total:
                return
            if done != last:
                last, last_change = done, time.monotonic()
            if time.monotonic() - last_change > stall:
                logs = "\n".join(worker.log_tail() for worker in workers)
                raise RuntimeError(f"{what} stalled at {done} of {total}. Worker logs:\n{logs}")
            if stats:
                stats.tick()
            time.sleep(pause)


def _import(incident: Incident, *, customers: int, prefix: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "snapshot.csv"
        _write_snapshot(path, customers=customers, prefix=prefix)
        with path.open("rb") as handle:
            services.snapshot_import(actor=ACTOR, incident=incident, file=handle, file_name="snapshot.csv")


def _logins(*, prefix: str) -> int:
    """One login per customer of the snapshot (no usable password), linked to the customer."""
    unusable = make_password(None)
    ids_accounts = list(Customer.objects.filter(account_id__startswith=prefix).values_list("pk", "account_id"))
    User.objects.bulk_create(
        [User(username=f"u-{account}", password=unusable) for _, account in ids_accounts], batch_size=5000
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE claims_customer c SET user_id = u.id FROM auth_user u "
            "WHERE u.username = 'u-' || c.account_id AND c.account_id LIKE %s",
            [prefix + "%"],
        )
        return cursor.rowcount


def _file(incident: Incident, *, prefix: str, chunk: int) -> list:
    """Queue the filing tasks: every customer of the snapshot files one claim, every DISPUTE_EVERY-th disputes."""
    from benchmarks.tasks import claims_file

    ids = list(Customer.objects.filter(account_id__startswith=prefix).order_by("pk").values_list("pk", flat=True))
    disputing = ids[::DISPUTE_EVERY]
    wanted = set(disputing)
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        claims_file.delay(incident.pk, part, [pk for pk in part if pk in wanted])
    return disputing


def _file_bulk(incident: Incident, *, prefix: str) -> list:
    """--filing bulk: snapshot-matching claims bulk-made; every DISPUTE_EVERY-th then marked disputed."""
    from benchmarks.approvals import claims_bulk_make

    claims_bulk_make(incident=incident, prefix=prefix, label="bulk")
    ids = list(Claim.objects.filter(incident=incident).order_by("customer_id").values_list("pk", flat=True))
    disputing = ids[::DISPUTE_EVERY]
    Claim.objects.filter(pk__in=disputing).update(disputed=True, matches_snapshot=False)
    return disputing


def _fund(*, total: int, stamp: str) -> None:
    funding = reserve_services.funding_request(actor=MAKER, kind="funding", amount_jpy=total, reference=f"PL-{stamp}")
    reserve_services.funding_approve(actor=CHECKER, funding=funding)


def _declare(code: str) -> Incident:
    now = timezone.now()
    return services.incident_declare(
        actor=ACTOR,
        code=code,
        title=f"Pipeline benchmark {code}",
        occurred_at=now - dt.timedelta(days=1),
        detected_at=now - dt.timedelta(hours=20),
        snapshot_base_time=now - dt.timedelta(days=1, hours=1),
        claim_opens_at=now - dt.timedelta(minutes=1),
        claim_closes_at=now + dt.timedelta(days=60),
        assets=[
            services.AssetInput(
                symbol=symbol,
                quantity_lost=Decimal(1_000_000_000),
                wallet_type="hot",
                reference_price_jpy=Decimal("1000.5"),
                price_source="bench",
                price_method="fixed",
            )
            for symbol in ("BTC", "ETH", "XEM", "XRP")
        ],
    )


def _env(*, queue: str, followup_queue: str, chunk: int, workers: int, counter: str) -> dict[str, str]:
    return worker_env(
        database_url=database_url_of(connection),
        redis_url=settings.REDIS_URL,
        queue=queue,
        CELERY_FOLLOWUP_QUEUE=followup_queue,
        PAYOUT_CHUNK_SIZE=chunk,
        PAYOUT_PARALLEL_TASKS=workers,
        SANDBOX_RAIL_FAILURE_RATE=0,
        SANDBOX_RAIL_LATENCY_MS=0,
        LOG_LEVEL="WARNING",
        EMAIL_BACKEND="benchmarks.mail.CountingBackend",
        BENCH_MAIL_COUNTER=counter,
        AUDIT_SIGNING_KEY=settings.AUDIT_SIGNING_KEY,
        AUDIT_SIGNING_KEY_FILE=settings.AUDIT_SIGNING_KEY_FILE,
    )


def run(
    *,
    customers: int,
    naive_claims: int,
    workers: int,
    chunk: int,
    file_chunk: int,
    stall: float,
    filing: str = "service",
    **_: Any,
) -> dict[str, Any]:
    """Replay the incident on workers, then the naive sample; return the JSON line."""
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        raise SystemExit("bench pipeline needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    from audit.signing import SigningKeyMissing, signer

    try:
        signer()
    except SigningKeyMissing:
        raise SystemExit("bench pipeline signs receipts: set AUDIT_SIGNING_KEY or AUDIT_SIGNING_KEY_FILE") from None
    stamp = timezone.now().strftime("%Y%m%d%H%M%S") + uuid.uuid4().hex[:4]
    queue, followup_queue = f"bench-{stamp}", f"bench-{stamp}-followup"
    counter = f"bench:{stamp}:mails"
    saved = app.conf.task_always_eager, app.conf.task_default_queue, app.conf.task_routes
    app.conf.task_always_eager, app.conf.task_default_queue = False, queue
    routes_set({name: {"queue": followup_queue} for name in settings.CELERY_FOLLOWUP_TASKS})
    try:
        return _run(
            customers=customers,
            naive_claims=max(1, naive_claims),
            workers=workers,
            chunk=chunk,
            file_chunk=file_chunk,
            stall=stall,
            filing=filing,
            stamp=stamp,
            env=_env(queue=queue, followup_queue=followup_queue, chunk=chunk, workers=workers, counter=counter),
            counter=counter,
        )
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue, saved_routes = saved
        routes_set(saved_routes)
        with app.connection_for_write() as conn:
            for name in (queue, followup_queue):
                conn.default_channel.queue_delete(name)
            conn.default_channel.client.delete(counter)


def _run(
    *,
    customers: int,
    naive_claims: int,
    workers: int,
    chunk: int,
    file_chunk: int,
    stall: float,
    filing: str,
    stamp: str,
    env: dict[str, str],
    counter: str,
) -> dict[str, Any]:
    stages = _Stages()
    maker = bench_staff(f"pl-maker-{stamp}", Role.REVIEWER)
    checker = bench_staff(f"pl-checker-{stamp}", Role.APPROVER)
    prefix, naive_prefix = f"pl{stamp}-", f"pn{stamp}-"
    events_before = Event.objects.count()
    stats = _Statistics()
    print(f"starting {workers} worker processes ...", file=sys.stderr)
    with worker_processes(
        env=env, count=workers, queues=f"{env['CELERY_QUEUE']},{env['CELERY_FOLLOWUP_QUEUE']}"
    ) as running:
        started_all = time.perf_counter()
        incident = stages.run("declare", lambda: _declare(f"pl-{stamp}"))
        stages.run("import", lambda: _import(incident, customers=customers, prefix=prefix))
        n = Customer.objects.filter(account_id__startswith=prefix).count()

        def invite() -> None:
            services.incident_transition(actor=ACTOR, incident=incident, to_status=Incident.Status.OPEN)
            sent = Invitation.objects.filter(incident=incident, status=Invitation.Status.SENT)
            _wait("invitations", n, sent.count, running, stall, stats)
            _wait("invitation e-mails", n, lambda: mail_count(counter), running, stall, stats)

        stages.run("invitations", invite)
        stages.run("logins", lambda: _logins(prefix=prefix))

        def file() -> list:
            if filing == "bulk":
                return _file_bulk(incident, prefix=prefix)
            disputing = _file(incident, prefix=prefix, chunk=file_chunk)
            _wait("filing", n, Claim.objects.filter(incident=incident).count, running, stall, stats)
            # Each filing e-mails its customer ("filed", after commit): part of filing, not of what follows.
            _wait("filed e-mails", 2 * n, lambda: mail_count(counter), running, stall, stats)
            return disputing

        disputing = stages.run("filing", file)
        stats.tick()  # filing (bulk) has no waits: autovacuum would have analysed the claims by now
        total = Claim.objects.filter(incident=incident).aggregate(total=Sum("amount_jpy"))["total"] or 0
        stages.run("funding", lambda: _fund(total=total, stamp=stamp))
        mails_before = mail_count(counter)

        # From the bulk approval to the last receipt and e-mail: the claims per second that matter.
        t0 = time.perf_counter()
        batch = stages.run("batch_build", lambda: services.claim_batch_create(actor=maker, incident=incident))
        batch = stages.run("approval", lambda: services.claim_batch_approve(actor=checker, batch=batch))
        approved = batch.claim_count
        fund = IncidentFund.objects.get(incident_code=incident.code)
        follow = _follow(
            incident=incident, fund=fund, approved=approved, mails=mails_before + 2 * approved, counter=counter
        )
        marks: dict[str, float] = {}
        # Each stage waits for its last item; later stages have usually finished by then.
        for name, goal, count in follow:
            _wait(name, goal, count, running, stall, stats)
            marks[name] = round(time.perf_counter() - t0, 3)
        fast_seconds = time.perf_counter() - t0
        emails = mail_count(counter)

        from audit.log.verify import log_verify
        from reserves.selectors import ledger_reconcile

        check = stages.run("verify", log_verify)
        reconcile = stages.run("reconcile", ledger_reconcile)
        total_seconds = time.perf_counter() - started_all
        events = Event.objects.count() - events_before
        naive_seconds = _naive(
            prefix=naive_prefix,
            count=naive_claims,
            stamp=stamp,
            maker=maker,
            checker=checker,
            running=running,
            stall=stall,
            file_chunk=file_chunk,
        )
    if not (check.ok and reconcile.ok):
        raise RuntimeError(f"the books do not check out: trail {check}, ledger {reconcile}")
    fast_per_s = approved / fast_seconds
    naive_per_s = naive_claims / naive_seconds
    return {
        "bench": "pipeline",
        "database": connection.vendor,
        "n": n,
        "claims_filed": n,
        "filing": filing,
        "claims_disputed": len(disputing),
        "claims_approved": approved,
        "seconds": round(fast_seconds, 3),
        "fast_per_s": round(fast_per_s, 1),
        "total_seconds": round(total_seconds, 3),
        "stages": stages.seconds,
        "since_approval": marks,
        "naive_n": naive_claims,
        "naive_seconds": round(naive_seconds, 3),
        "naive_per_s": round(naive_per_s, 1),
        "ratio": round(fast_per_s / naive_per_s, 2),
        "workers": workers,
        "chunk": chunk,
        "audit_events": events,
        "emails": emails,
        "trail_ok": check.ok,
        "ledger_ok": reconcile.ok,
        "total_jpy": batch.total_jpy,
        "autovacuum": stats.autovacuum,
        "analysed": stats.runs,
        "load": os.getloadavg()[0],
    }


def _follow(
    *, incident: Incident, fund: IncidentFund, approved: int, mails: int, counter: str
) -> list[tuple[str, int, Callable[[], int]]]:
    """What follows the approval, in order: (stage, how many when done, how many so far)."""

    def paid_jpy() -> int:
        return Account.objects.filter(pk=fund.paid_account_id).values_list("balance_jpy", flat=True)[0]

    total = (
        Claim.objects.filter(incident=incident, status=Claim.Status.APPROVED).aggregate(
            total=Sum("approved_amount_jpy")
        )["total"]
        or 0
    )
    paid = Payout.objects.filter(fund=fund, status=Payout.Status.PAID)
    return [
        ("hand_off", approved, Entitlement.objects.filter(fund=fund).count),
        ("payments", total, paid_jpy),
        ("marked_paid", approved, Claim.objects.filter(incident=incident, status=Claim.Status.PAID).count),
        ("receipts", approved, lambda: paid.count() - payouts_without_receipt().filter(fund=fund).count()),
        ("emails", mails, lambda: mail_count(counter)),
    ]


def _naive(
    *, prefix: str, count: int, stamp: str, maker: User, checker: User, running: list, stall: float, file_chunk: int
) -> float:
    """The sample: filed and approved like the others (untimed), then one claim at a time in this process (timed).

    Work the services queue after commit goes to a queue nobody reads (deleted at the end), so
    the workers do none of the sample's work.
    """
    from benchmarks.tasks import payout_process_single
    from claims.notifications import claim_notify
    from claims.services import handoff

    incident = _declare(f"pn-{stamp}")
    _import(incident, customers=count, prefix=prefix)
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.OPEN)  # no invitations for the sample
    incident.refresh_from_db()
    handoff.fund_open_for(incident=incident)
    _logins(prefix=prefix)
    ids = list(Customer.objects.filter(account_id__startswith=prefix).order_by("pk").values_list("pk", flat=True))
    from benchmarks.tasks import claims_file

    for start in range(0, len(ids), file_chunk):
        claims_file.delay(incident.pk, ids[start : start + file_chunk], [])
    _wait("naive sample filing", len(ids), Claim.objects.filter(incident=incident).count, running, stall)
    total = Claim.objects.filter(incident=incident).aggregate(total=Sum("amount_jpy"))["total"] or 0
    _fund(total=total, stamp=f"{stamp}-n")
    from django.test.utils import override_settings

    saved = app.conf.task_default_queue, app.conf.task_routes
    void = f"bench-{stamp}-void"
    mail = override_settings(EMAIL_BACKEND="benchmarks.mail.CountingBackend")  # handed over, not printed
    mail.enable()
    app.conf.task_default_queue = void
    routes_set({})
    try:
        batch = services.claim_batch_create(actor=maker, incident=incident)
        batch = services.claim_batch_approve(actor=checker, batch=batch)
        claim_ids = list(
            Claim.objects.filter(incident=incident, status=Claim.Status.APPROVED).values_list("pk", flat=True)
        )
        started = time.perf_counter()
        for claim_id in tqdm(claim_ids, desc="naive hand-off", file=sys.stderr):
            handoff.claims_hand_off(claim_ids=[claim_id])
        reserve_engine.allocation_run(actor=MAKER, incident_code=incident.code, reason="benchmark naive")
        fund = IncidentFund.objects.get(incident_code=incident.code)
        by_claim = dict(Entitlement.objects.filter(fund=fund).values_list("claim_ref", "pk"))
        refs = dict(Claim.objects.filter(pk__in=claim_ids).values_list("pk", "ref"))
        for claim_id in tqdm(claim_ids, desc="naive: paid, receipt, e-mail", file=sys.stderr):
            payout_process_single(by_claim[refs[claim_id]])
            services.claims_payments_sync(claim_ids=[claim_id])
            payout_ids = list(
                Payout.objects.filter(claim_ref=refs[claim_id], status=Payout.Status.PAID).values_list("pk", flat=True)
            )
            reserve_services.payout_receipts_issue(payout_ids=payout_ids)
            claim_notify(claim_id=claim_id, kind="paid")
        seconds = time.perf_counter() - started
    finally:
        mail.disable()
        app.conf.task_default_queue, saved_routes = saved
        routes_set(saved_routes)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(void)
    assert Claim.objects.filter(pk__in=claim_ids, status=Claim.Status.PAID).count() == len(claim_ids)
    return seconds
