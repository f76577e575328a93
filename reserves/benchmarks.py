"""`python manage.py bench payouts`: allocation, sandbox disbursement and audit events for N claims on worker processes.

Untimed setup: the reserve is funded (maker and checker), an incident fund is
opened on hold and N entitlements are registered through
`entitlements_register` (as claims' approval will); a second fund gets a
sample for the naive path, allocated but not yet paid. Then the command starts
`celery worker` processes on a queue of its own against REDIS_URL and the
database DATABASE_URL names, and times:

- fast: release the hold; the allocation round and the chunked drainers run
  on the workers until every claim is paid (allocation, sandbox rail, ledger
  transfers, two audit events per claim);
- naive: one `payout_process_single` task per claim of the sample.

The workers are stopped at the end. The funds, payouts and ledger transfers
stay (the ledger and the trail are append-only): run it on a scratch database.
"""

import sys
import time
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from audit.models import Event
from audit.services import Actor
from config.celery import app
from reserves import services
from reserves.models import Account, Entitlement, IncidentFund, Payout
from reserves.workers import database_url_of, worker_env, worker_processes

MAKER = Actor.system("system:bench-maker")
CHECKER = Actor.system("system:bench-checker")
REGISTER_BATCH = 10_000


def add_arguments(parser: Any) -> None:
    parser.add_argument("--claims", type=int, default=100_000, help="claims paid on the batched path")
    parser.add_argument("--naive-claims", type=int, default=500, help="claims paid one task each")
    parser.add_argument("--workers", type=int, default=2, help="worker processes to start")
    parser.add_argument("--chunk", type=int, default=2_000, help="entitlements per allocation chunk")


def _amount(i: int) -> int:
    return 1_000 + (i * 7_919) % 1_000_000


def _setup_fund(code: str, count: int, *, hold: bool) -> IncidentFund:
    fund = services.incident_fund_open(
        actor=MAKER, incident_code=code, title=f"Benchmark {code}", detected_at=timezone.now()
    )
    if hold:
        fund = services.incident_fund_hold(actor=MAKER, fund=fund, on_hold=True, reason="benchmark setup")
    payee = services.PayeeInput(
        method="bank",
        bank_code="0001",
        branch_code="001",
        account_type="ordinary",
        account_number="1234567",
        holder_kana="ﾍﾞﾝﾁ ﾀﾛｳ",
    )
    with tqdm(total=count, desc=f"registering {code}", unit="claim", file=sys.stderr, mininterval=0.5) as bar:
        for start in range(0, count, REGISTER_BATCH):
            batch = [
                services.EntitlementInput(
                    claim_ref=f"{code}-{i:07d}",
                    customer_account_id=f"BENCH-{i:07d}",
                    customer_name=f"Bench {i}",
                    eligible_jpy=_amount(i),
                    payee=payee,
                )
                for i in range(start, min(count, start + REGISTER_BATCH))
            ]
            with transaction.atomic():
                services.entitlements_register(actor=MAKER, incident_code=code, entitlements=batch)
            bar.update(len(batch))
    return fund


def wait_paid(fund: IncidentFund, total_jpy: int, desc: str, workers: list, stall_seconds: float = 60) -> None:
    """Wait until the fund's paid account holds `total_jpy` (one row read per poll, so polling costs nothing).

    Fails loudly, with the workers' logs, when a payout fails or nothing moves for `stall_seconds`.
    """
    last_progress, last_paid = time.monotonic(), -1
    with tqdm(total=total_jpy, desc=desc, unit="yen", unit_scale=True, file=sys.stderr, mininterval=0.5) as bar:
        while True:
            paid = Account.objects.filter(pk=fund.paid_account_id).values_list("balance_jpy", flat=True)[0]
            bar.update(paid - bar.n)
            if paid >= total_jpy:
                return
            if paid != last_paid:
                last_progress, last_paid = time.monotonic(), paid
            stalled = time.monotonic() - last_progress > stall_seconds
            if stalled or Payout.objects.filter(fund=fund, status="failed").exists():
                logs = "\n".join(worker.log_tail() for worker in workers)
                raise RuntimeError(f"benchmark stalled or failed at ¥{paid:,} of ¥{total_jpy:,}. Worker logs:\n{logs}")
            time.sleep(0.05)


def run(*, claims: int, naive_claims: int, workers: int, chunk: int, **_: Any) -> dict[str, Any]:
    """Set up, start workers, time the batched and the naive path; return the JSON line."""
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        raise SystemExit("bench payouts needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    queue = f"bench-{stamp}"
    # Follow-up work (claims marked paid, receipts) goes to a queue of the run's own, dropped at the end.
    followup_queue = f"{queue}-followup"
    saved = app.conf.task_always_eager, app.conf.task_default_queue, app.conf.task_routes
    app.conf.task_always_eager, app.conf.task_default_queue = False, queue
    app.conf.task_routes = {name: {"queue": followup_queue} for name in settings.CELERY_FOLLOWUP_TASKS}
    try:
        return _run(claims=claims, naive_claims=min(naive_claims, claims), workers=workers, chunk=chunk, stamp=stamp)
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue, app.conf.task_routes = saved
        app.amqp.flush_routes()
        app.amqp.router = app.amqp.Router()  # the router caches the routes it was made with
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(followup_queue)


def _run(*, claims: int, naive_claims: int, workers: int, chunk: int, stamp: str) -> dict[str, Any]:
    queue = app.conf.task_default_queue

    total = sum(_amount(i) for i in range(claims)) + sum(_amount(i) for i in range(naive_claims))
    funding = services.funding_request(actor=MAKER, kind="funding", amount_jpy=total, reference=f"BENCH-{stamp}")
    services.funding_approve(actor=CHECKER, funding=funding)
    fast = _setup_fund(f"bench-fast-{stamp}", claims, hold=True)
    naive = _setup_fund(f"bench-naive-{stamp}", naive_claims, hold=False)
    services.allocation_run(actor=MAKER, incident_code=naive.incident_code, reason="benchmark naive setup")
    app.control.purge()  # the naive fund's drainers: its claims are paid one task each below
    naive_ids = list(Entitlement.objects.filter(fund=naive).order_by("id").values_list("id", flat=True))

    env = worker_env(
        database_url=database_url_of(connection),
        redis_url=settings.REDIS_URL,
        queue=queue,
        CELERY_FOLLOWUP_QUEUE=f"{queue}-followup",
        PAYOUT_CHUNK_SIZE=chunk,
        PAYOUT_PARALLEL_TASKS=workers,
        SANDBOX_RAIL_FAILURE_RATE=0,
        SANDBOX_RAIL_LATENCY_MS=0,
        LOG_LEVEL="WARNING",
    )
    print(f"starting {workers} worker processes on queue {queue} ...", file=sys.stderr)
    events_before = Event.objects.count()
    with worker_processes(env=env, count=workers) as running:
        started = time.perf_counter()
        services.incident_fund_hold(actor=MAKER, fund=fast, on_hold=False, reason="benchmark start")
        wait_paid(fast, sum(_amount(i) for i in range(claims)), "batched payouts", running)
        fast_seconds = time.perf_counter() - started
        events = Event.objects.count() - events_before

        from reserves.tasks import payout_process_single

        started = time.perf_counter()
        for entitlement_id in naive_ids:
            payout_process_single.delay(entitlement_id)
        wait_paid(naive, sum(_amount(i) for i in range(naive_claims)), "naive payouts", running)
        naive_seconds = time.perf_counter() - started
    fast_per_s = claims / fast_seconds
    naive_per_s = naive_claims / naive_seconds
    return {
        "bench": "payouts",
        "database": connection.vendor,
        "n": claims,
        "seconds": round(fast_seconds, 3),
        "fast_per_s": round(fast_per_s, 1),
        "naive_n": naive_claims,
        "naive_seconds": round(naive_seconds, 3),
        "naive_per_s": round(naive_per_s, 1),
        "ratio": round(fast_per_s / naive_per_s, 2),
        "workers": workers,
        "chunk": chunk,
        "audit_events": events,
    }
