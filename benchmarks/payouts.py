"""`python manage.py bench payouts`: N approved claims handed off, allocated, paid and audit-logged on workers.

Untimed setup: the reserve is funded (maker and checker); an open incident
gets N snapshot-matching claims (bulk-made, as `bench approvals` does), which
a maker batches and a checker approves through the real services; the hand-off
tasks those approvals queue are dropped and the incident's fund is put on hold,
so the timed run starts from approved claims that reserves has not seen yet.
A second incident's sample of claims is approved and handed off in setup.

Timed, on `celery worker` processes the command starts against REDIS_URL and
the database DATABASE_URL names:
- hand-off (`hand_off_seconds`): the hand-off tasks (chunks of 5,000 claims)
  register the approved claims with reserves while the fund is on hold;
- payments (`payments_seconds`): the hold is released; the allocation round, chunked
  allocation, sandbox disbursement, ledger transfers and audit events run
  until every claim is paid. `seconds` (and `end_to_end_seconds`) is the two
  together, and `fast_per_s` counts both: the hand-off is part of paying;
- naive: the sample handed off one claim at a time (in setup, timed), then one
  `payout_process_single` task per claim; `naive_seconds` is both;
- follow-up (`claims_marked_paid_seconds`): the claims' "paid" status, set by
  tasks on the follow-up queue, which payments never wait for: timed on one
  follow-up worker started after the payments. The same worker signs the
  payout receipts, interleaved: `receipts_seconds` is from its start until
  every paid payout of the batch has its receipt (null without a signing key).

Workers are stopped at the end; everything stays (the ledger and the trail
are append-only): run it on a scratch database.
"""

import sys
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from tqdm import tqdm

from audit.models import Event
from benchmarks.approvals import bench_staff, incident_with_bench_claims
from benchmarks.payouts_engine import CHECKER, MAKER, wait_paid
from benchmarks.workers import database_url_of, queues_purge, routes_set, worker_env, worker_processes
from claims import services
from claims.models import Claim, Incident
from claims.services import handoff
from config.celery import app
from core.roles import Role
from reserves import engine as reserve_engine
from reserves import services as reserve_services
from reserves.models import Entitlement, IncidentFund


def add_arguments(parser: Any) -> None:
    parser.add_argument("--claims", type=int, default=100_000, help="claims paid on the batched path")
    parser.add_argument("--naive-claims", type=int, default=500, help="claims paid one task each")
    parser.add_argument("--workers", type=int, default=2, help="worker processes to start")
    parser.add_argument("--chunk", type=int, default=2_000, help="entitlements per allocation chunk")


def _approved_incident(*, code: str, prefix: str, count: int, label: str, maker: Any, checker: Any) -> Incident:
    """An open incident with `count` claims approved in one batch (their hand-off and e-mail tasks dropped)."""
    incident = incident_with_bench_claims(code=code, prefix=prefix, customers=count, label=label)
    handoff.fund_open_for(incident=incident)
    batch = services.claim_batch_create(actor=maker, incident=incident)
    services.claim_batch_approve(actor=checker, batch=batch)
    # The approval's hand-off (main queue) and "approved" e-mails (follow-up queue): the run starts from here.
    # Left in the follow-up queue, 100,000 e-mails ran before the first claim was marked paid, and the
    # follow-up wait saw no progress for 60 s ("stalled").
    queues_purge(app.conf.task_default_queue, _followup_queue())
    return incident


def _followup_queue() -> str:
    """The queue this run routes follow-up tasks to (run() sets the routes)."""
    return app.conf.task_routes["claims.paid_sync"]["queue"]


def _wait_entitlements(fund: IncidentFund, count: int, stall_seconds: float = 60) -> None:
    last, last_change = -1, time.monotonic()
    with tqdm(total=count, desc="hand-off", unit="claim", file=sys.stderr, mininterval=0.5) as bar:
        while True:
            registered = Entitlement.objects.filter(fund=fund).count()
            bar.update(registered - bar.n)
            if registered >= count:
                return
            if registered != last:
                last, last_change = registered, time.monotonic()
            if time.monotonic() - last_change > stall_seconds:
                raise RuntimeError(f"hand-off stalled at {registered} of {count} claims")
            time.sleep(0.05)


def _wait_claims_paid(incident: Incident, count: int, stall_seconds: float = 60) -> None:
    last, last_change = -1, time.monotonic()
    while True:
        paid = Claim.objects.filter(incident=incident, status=Claim.Status.PAID).count()
        if paid >= count:
            return
        if paid != last:
            last, last_change = paid, time.monotonic()
        if time.monotonic() - last_change > stall_seconds:
            raise RuntimeError(f"claims stalled at {paid} of {count} marked paid")
        time.sleep(0.1)


def _wait_receipts(fund: IncidentFund, stall_seconds: float = 60) -> None:
    from reserves.selectors.receipts import payouts_without_receipt

    last, last_change = -1, time.monotonic()
    while True:
        missing = payouts_without_receipt().filter(fund=fund).count()
        if not missing:
            return
        if missing != last:
            last, last_change = missing, time.monotonic()
        if time.monotonic() - last_change > stall_seconds:
            raise RuntimeError(f"receipts stalled with {missing} paid payouts unsigned")
        time.sleep(0.2)


def _can_sign() -> bool:
    from audit.signing import SigningKeyMissing, signer

    try:
        signer()
    except SigningKeyMissing:
        return False
    return True


def run(*, claims: int, naive_claims: int, workers: int, chunk: int, **_: Any) -> dict[str, Any]:
    """Set up, start workers, time the batched and the naive path; return the JSON line."""
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        raise SystemExit("bench payouts needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    followup_queue = f"bench-{stamp}-email"  # customer emails: queued like production, then dropped
    saved = app.conf.task_always_eager, app.conf.task_default_queue, app.conf.task_routes
    app.conf.task_always_eager, app.conf.task_default_queue = False, f"bench-{stamp}"
    routes_set({name: {"queue": followup_queue} for name in settings.CELERY_FOLLOWUP_TASKS})
    try:
        return _run(
            claims=claims,
            naive_claims=max(1, min(naive_claims, claims)),
            workers=workers,
            chunk=chunk,
            stamp=stamp,
            followup_queue=followup_queue,
        )
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue, saved_routes = saved
        routes_set(saved_routes)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(followup_queue)


@dataclass(frozen=True)
class _Setup:
    """Two approved incidents, funded: `fast` on hold (its hand-off is measured), `naive` allocated already."""

    fast: Incident
    naive: Incident
    fast_fund: IncidentFund
    naive_fund: IncidentFund
    fast_total: int
    naive_total: int
    naive_hand_off_seconds: float


def _prepare(*, claims: int, naive_claims: int, stamp: str) -> _Setup:
    maker = bench_staff(f"bench-maker-{stamp}", Role.REVIEWER)
    checker = bench_staff(f"bench-checker-{stamp}", Role.APPROVER)
    fast = _approved_incident(
        code=f"bench-pay-{stamp}"[:32], prefix=f"pf{stamp}-", count=claims, label="batch", maker=maker, checker=checker
    )
    naive = _approved_incident(
        code=f"bench-payn-{stamp}"[:32],
        prefix=f"pn{stamp}-",
        count=naive_claims,
        label="sample",
        maker=maker,
        checker=checker,
    )
    fast_total = Claim.objects.filter(incident=fast).aggregate(total=Sum("approved_amount_jpy"))["total"] or 0
    naive_total = Claim.objects.filter(incident=naive).aggregate(total=Sum("approved_amount_jpy"))["total"] or 0
    funding = reserve_services.funding_request(
        actor=MAKER, kind="funding", amount_jpy=fast_total + naive_total, reference=f"BENCH-{stamp}"
    )
    reserve_services.funding_approve(actor=CHECKER, funding=funding)
    fast_fund = IncidentFund.objects.get(incident_code=fast.code)
    naive_fund = IncidentFund.objects.get(incident_code=naive.code)
    reserve_services.incident_fund_hold(actor=MAKER, fund=fast_fund, on_hold=True, reason="benchmark setup")
    # The sample: handed off one claim at a time (timed: the naive hand-off) and allocated now; its
    # claims are paid one task each below.
    started = time.perf_counter()
    for claim_id in Claim.objects.filter(incident=naive).order_by("pk").values_list("pk", flat=True):
        handoff.claims_hand_off(claim_ids=[claim_id])
    naive_hand_off_seconds = time.perf_counter() - started
    reserve_engine.allocation_run(actor=MAKER, incident_code=naive.code, reason="benchmark naive setup")
    queues_purge(app.conf.task_default_queue, _followup_queue())
    return _Setup(fast, naive, fast_fund, naive_fund, fast_total, naive_total, naive_hand_off_seconds)


def _env(*, workers: int, chunk: int, followup_queue: str) -> dict[str, str]:
    """The worker processes' environment: this database and Redis, the benchmark's chunking, a perfect rail."""
    return worker_env(
        database_url=database_url_of(connection),
        redis_url=settings.REDIS_URL,
        queue=app.conf.task_default_queue,
        CELERY_FOLLOWUP_QUEUE=followup_queue,
        PAYOUT_CHUNK_SIZE=chunk,
        PAYOUT_PARALLEL_TASKS=workers,
        SANDBOX_RAIL_FAILURE_RATE=0,
        SANDBOX_RAIL_LATENCY_MS=0,
        LOG_LEVEL="WARNING",
        # The key this process signs with (the environment's, or the test settings'), for the receipts.
        AUDIT_SIGNING_KEY=settings.AUDIT_SIGNING_KEY,
        AUDIT_SIGNING_KEY_FILE=settings.AUDIT_SIGNING_KEY_FILE,
    )


def _run(
    *, claims: int, naive_claims: int, workers: int, chunk: int, stamp: str, followup_queue: str
) -> dict[str, Any]:
    setup = _prepare(claims=claims, naive_claims=naive_claims, stamp=stamp)
    fast, fast_fund, naive_fund = setup.fast, setup.fast_fund, setup.naive_fund
    fast_total, naive_total = setup.fast_total, setup.naive_total
    naive_ids = list(Entitlement.objects.filter(fund=naive_fund).order_by("id").values_list("id", flat=True))
    fast_claim_ids = list(Claim.objects.filter(incident=fast).order_by("pk").values_list("pk", flat=True))

    env = _env(workers=workers, chunk=chunk, followup_queue=followup_queue)
    print(f"starting {workers} worker processes ...", file=sys.stderr)
    with worker_processes(env=env, count=workers) as running:
        from claims.tasks import payouts_hand_off

        started = time.perf_counter()
        for start in range(0, len(fast_claim_ids), handoff.HAND_OFF_CHUNK):
            payouts_hand_off.delay(fast_claim_ids[start : start + handoff.HAND_OFF_CHUNK])
        _wait_entitlements(fast_fund, claims)
        hand_off_seconds = time.perf_counter() - started

        events_before = Event.objects.count()
        started = time.perf_counter()
        reserve_services.incident_fund_hold(actor=MAKER, fund=fast_fund, on_hold=False, reason="benchmark start")
        wait_paid(fast_fund, fast_total, "batched payouts", running)
        fast_seconds = time.perf_counter() - started
        events = Event.objects.count() - events_before

        from benchmarks.tasks import payout_process_single

        started = time.perf_counter()
        for entitlement_id in naive_ids:
            payout_process_single.delay(entitlement_id)
        wait_paid(naive_fund, naive_total, "naive payouts", running)
        naive_seconds = time.perf_counter() - started
    # Marking claims paid is follow-up work on a queue of its own (payments never wait for it).
    print("marking claims paid on a follow-up worker ...", file=sys.stderr)
    with worker_processes(env={**env, "CELERY_QUEUE": followup_queue}, count=1):
        started = time.perf_counter()
        _wait_claims_paid(fast, claims)
        marked_seconds = time.perf_counter() - started
        receipts_seconds = None
        if _can_sign():
            _wait_receipts(fast_fund)
            receipts_seconds = round(time.perf_counter() - started, 3)
    # The hand-off counts: claims per second from approved claims to paid ones, on both paths.
    fast_per_s = claims / (hand_off_seconds + fast_seconds)
    naive_seconds += setup.naive_hand_off_seconds
    naive_per_s = naive_claims / naive_seconds
    return {
        "bench": "payouts",
        "database": connection.vendor,
        "n": claims,
        "seconds": round(hand_off_seconds + fast_seconds, 3),
        "fast_per_s": round(fast_per_s, 1),
        "hand_off_seconds": round(hand_off_seconds, 3),
        "payments_seconds": round(fast_seconds, 3),
        "end_to_end_seconds": round(hand_off_seconds + fast_seconds, 3),
        "claims_marked_paid_seconds": round(marked_seconds, 3),
        "receipts_seconds": receipts_seconds,
        "naive_n": naive_claims,
        "naive_seconds": round(naive_seconds, 3),
        "naive_per_s": round(naive_per_s, 1),
        "ratio": round(fast_per_s / naive_per_s, 2),
        "workers": workers,
        "chunk": chunk,
        "audit_events": events,
        "total_jpy": fast_total,
    }
