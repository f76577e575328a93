"""`python manage.py bench single_approvals`: claims approved one at a time while many are registered and paid.

Untimed setup: an incident fund expecting the whole population (its expected
loss and number of claimants), the reserve funded for 60 % of it,
`--registered` claims registered in bulk and paid by the workers (one round),
and `--singles` more claims filed (held back at what they claim). Then, on
`--workers` worker processes started on a queue of the run's own:

- **fast**: the singles are approved one per transaction, as claims' hand-off
  of a single approval registers them (`entitlements_register` of one claim),
  as fast as this process can; rounds coalesce (ALLOCATION_COALESCE_SECONDS)
  and, the curve being unchanged, pay only what they admitted. Timed from the
  first approval until every single is paid; reports the rounds made and the
  entitlement rows PostgreSQL updated (pg_stat_user_tables).
- **naive** (before the workers start, in this process, on
  `--naive-singles` more claims): the path before this change, one round per
  approval that brings every entitlement of the incident up again
  (`allocation_run(rescan=True)` and its chunks).

Last, the replay of the incident: every payout of every round recomputed,
streamed (`replay_seconds`, `replay_peak_mb` of Python memory by tracemalloc).
The funds, payouts and ledger stay (append-only): use a scratch database.
"""

import sys
import time
import tracemalloc
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from benchmarks.payouts_engine import CHECKER, MAKER, REGISTER_BATCH, wait_paid
from benchmarks.workers import database_url_of, routes_set, worker_env, worker_processes
from config.celery import app
from reserves import engine, services
from reserves.engine import instructions_send, payouts_allocate_chunk
from reserves.models import Allocation, IncidentFund
from reserves.selectors import allocation_replay
from reserves.services.holdbacks import HoldInput, holdbacks_set
from reserves.waterfall import claimant_target

PAYEE = services.PayeeInput(
    method="bank",
    bank_code="0001",
    branch_code="001",
    account_type="ordinary",
    account_number="1234567",
    holder_kana="ﾍﾞﾝﾁ ﾊﾅｺ",
)
RATE_PERCENT = 60


def add_arguments(parser: Any) -> None:
    parser.add_argument("--registered", type=int, default=250_000, help="claims registered and paid before")
    parser.add_argument("--singles", type=int, default=13_000, help="claims then approved one at a time")
    parser.add_argument("--naive-singles", type=int, default=3, help="single approvals on the naive path")
    parser.add_argument("--workers", type=int, default=2, help="worker processes to start")
    parser.add_argument("--chunk", type=int, default=2_000, help="entitlements per allocation chunk")
    parser.add_argument("--coalesce", type=float, default=2.0, help="ALLOCATION_COALESCE_SECONDS of the workers")


def _amount(i: int) -> int:
    return 10_000 + (i * 7_919) % 1_000_000


def _entitlement(code: str, i: int) -> services.EntitlementInput:
    return services.EntitlementInput(
        claim_ref=f"{code}-{i:07d}",
        customer_account_id=f"BENCH-{i:07d}",
        customer_name=f"Bench {i}",
        eligible_jpy=_amount(i),
        payee=PAYEE,
    )


def _owed(allocation: Allocation):
    """What the claims numbered `numbers` are owed on the allocation's curve, in total."""

    def owed(numbers: range) -> int:
        return sum(
            claimant_target(
                eligible_jpy=_amount(i),
                base_jpy=0,
                level_jpy=allocation.level_jpy,
                base_total_jpy=allocation.base_total_jpy,
                loss_basis_jpy=allocation.loss_basis_jpy,
            )
            for i in numbers
        )

    return owed


def _entitlement_updates() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'reserves_entitlement'")
        return int(cursor.fetchone()[0])


def _setup(code: str, *, registered: int, singles: int, naive: int) -> tuple[IncidentFund, int]:
    """The fund, expecting everyone; the registered claims (on hold, paid when the workers start); the others filed."""
    population = registered + naive + singles
    expected = sum(_amount(i) for i in range(population))
    fund = services.incident_fund_open(
        actor=MAKER, incident_code=code, title=f"Benchmark {code}", detected_at=timezone.now()
    )
    fund = services.incident_fund_hold(actor=MAKER, fund=fund, on_hold=True, reason="benchmark setup")
    fund = services.incident_fund_configure(
        actor=MAKER, fund=fund, expected_loss_jpy=expected, expected_claimants=population
    )
    funding = services.funding_request(
        actor=MAKER, kind="funding", amount_jpy=expected * RATE_PERCENT // 100, reference=f"BENCH-{code}"
    )
    services.funding_approve(actor=CHECKER, funding=funding)
    with tqdm(total=population, desc=f"setting up {code}", unit="claim", file=sys.stderr, mininterval=0.5) as bar:
        for start in range(0, population, REGISTER_BATCH):
            numbers = range(start, min(population, start + REGISTER_BATCH))
            with transaction.atomic():
                holdbacks_set(
                    actor=MAKER, incident_code=code, holds=[HoldInput(f"{code}-{i:07d}", _amount(i)) for i in numbers]
                )
                paid_before = [i for i in numbers if i < registered]
                if paid_before:
                    services.entitlements_register(
                        actor=MAKER, incident_code=code, entitlements=[_entitlement(code, i) for i in paid_before]
                    )
            bar.update(len(numbers))
    return fund, expected


def _naive(fund: IncidentFund, numbers: range, chunk: int) -> float:
    """Per approval: register, a round that rescans every entitlement, its chunks; in this process. Seconds each."""
    code = fund.incident_code
    started = time.perf_counter()
    for i in tqdm(numbers, desc="naive single approvals", unit="approval", file=sys.stderr):
        with transaction.atomic():
            services.entitlements_register(actor=MAKER, incident_code=code, entitlements=[_entitlement(code, i)])
        engine.allocation_run(actor=MAKER, incident_code=code, reason="bench naive", rescan=True)
        after = 0
        while (part := payouts_allocate_chunk(fund_id=fund.pk, limit=chunk, after_id=after)).processed:
            instructions_send(instructions=part.instructions)
            after = part.last_id
    app.control.purge()  # the drainers those rounds queued: this path already did their work
    return (time.perf_counter() - started) / max(1, len(numbers))


def run(
    *, registered: int, singles: int, naive_singles: int, workers: int, chunk: int, coalesce: float, **_: Any
) -> dict[str, Any]:
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        raise SystemExit("bench single_approvals needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    queue = f"bench-{stamp}"
    saved = app.conf.task_always_eager, app.conf.task_default_queue, app.conf.task_routes
    app.conf.task_always_eager, app.conf.task_default_queue = False, queue
    routes_set({name: {"queue": f"{queue}-followup"} for name in settings.CELERY_FOLLOWUP_TASKS})
    try:
        return _run(
            registered=registered,
            singles=singles,
            naive_singles=naive_singles,
            workers=workers,
            chunk=chunk,
            coalesce=coalesce,
            code=f"bench-singles-{stamp}",
        )
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue, saved_routes = saved
        routes_set(saved_routes)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(f"{queue}-followup")


def _run(
    *, registered: int, singles: int, naive_singles: int, workers: int, chunk: int, coalesce: float, code: str
) -> dict[str, Any]:
    """Set up, time the singles on the workers, time the naive sample, replay; one timeline read top to bottom."""
    queue = app.conf.task_default_queue
    fund, expected = _setup(code, registered=registered, singles=singles, naive=naive_singles)
    env = worker_env(
        database_url=database_url_of(connection),
        redis_url=settings.REDIS_URL,
        queue=queue,
        CELERY_FOLLOWUP_QUEUE=f"{queue}-followup",
        PAYOUT_CHUNK_SIZE=chunk,
        PAYOUT_PARALLEL_TASKS=workers,
        ALLOCATION_COALESCE_SECONDS=coalesce,
        SANDBOX_RAIL_FAILURE_RATE=0,
        SANDBOX_RAIL_LATENCY_MS=0,
        LOG_LEVEL="WARNING",
    )
    with worker_processes(env=env, count=workers) as running:
        services.incident_fund_hold(actor=MAKER, fund=fund, on_hold=False, reason="benchmark start")
        # The one curve everyone is paid on (the population is known from the start, so it never moves).
        deadline = time.monotonic() + 120
        while (first := fund.allocations.order_by("seq").first()) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if first is None:
            raise RuntimeError("no allocation round: " + "\n".join(w.log_tail() for w in running))
        owed = _owed(first)
        wait_paid(fund, owed(range(registered)), "paying the registered claims", running)
    app.control.purge()
    naive_seconds = _naive(fund, range(registered, registered + naive_singles), chunk) if naive_singles else 0.0

    rounds_before = Allocation.objects.filter(fund=fund).count()
    time.sleep(1.5)  # PostgreSQL's statistics lag the commits a little
    updates_before = _entitlement_updates()
    numbers = range(registered + naive_singles, registered + naive_singles + singles)
    everyone = owed(range(registered + naive_singles + singles))
    with worker_processes(env=env, count=workers) as running:
        started = time.perf_counter()
        for i in tqdm(numbers, desc="single approvals", unit="approval", file=sys.stderr, mininterval=0.5):
            with transaction.atomic():
                services.entitlements_register(actor=MAKER, incident_code=code, entitlements=[_entitlement(code, i)])
        arrived = time.perf_counter() - started
        wait_paid(fund, everyone, "paying the singles", running)
        seconds = time.perf_counter() - started
    time.sleep(1.5)
    rounds = Allocation.objects.filter(fund=fund).count() - rounds_before
    updated = _entitlement_updates() - updates_before

    tracemalloc.start()
    replay_started = time.perf_counter()
    replay = allocation_replay(fund=fund)
    replay_seconds = time.perf_counter() - replay_started
    replay_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    per_approval = seconds / singles
    return {
        "bench": "single_approvals",
        "database": connection.vendor,
        "registered": registered,
        "n": singles,
        "rate": RATE_PERCENT / 100,
        "expected_loss_jpy": expected,
        "arrival_seconds": round(arrived, 3),
        "seconds": round(seconds, 3),
        "approvals_per_s": round(singles / seconds, 1),
        "rounds": rounds,
        "entitlement_rows_updated": updated,
        "naive_n": naive_singles,
        "naive_seconds_per_approval": round(naive_seconds, 3),
        "ratio": round(naive_seconds / per_approval, 1) if naive_singles else None,
        "replay_ok": replay.ok,
        "replay_payouts": replay.payouts_checked,
        "replay_rounds": replay.rounds_checked,
        "replay_seconds": round(replay_seconds, 3),
        "replay_peak_mb": round(replay_peak / 2**20, 1),
        "workers": workers,
        "chunk": chunk,
        "coalesce_seconds": coalesce,
    }
