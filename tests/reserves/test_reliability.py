"""Reliability against real PostgreSQL, Redis and real `celery worker` processes (issue 5, item 7).

Each test starts worker processes on this run's own queue against the test
database, drives them through the public services, and checks the money
afterwards: never overdrawn, every payout paid exactly once or visibly
failed, and the ledger reconciles.
"""

import datetime as dt
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Sum

from audit.models import Receipt
from benchmarks.workers import worker_processes
from reserves import ledger, services
from reserves.models import Account, Entitlement, Payout, SandboxTransfer, Transfer
from reserves.selectors import ledger_reconcile
from reserves.selectors import receipts as receipt_selectors
from reserves.tasks import incident_allocate, payouts_process
from tests.support.money import CHECKER, fund_open, paid_by_claim, register, reserve_fund
from tests.support.workers import settled, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def assert_paid_exactly_once() -> None:
    executed = Counter(SandboxTransfer.objects.values_list("idempotency_key", flat=True))
    assert all(n == 1 for n in executed.values())  # the bank's unique key: never twice
    for payout in Payout.objects.all():
        if payout.status == "paid":
            assert executed[payout.idempotency_key] == 1, payout
            bank = SandboxTransfer.objects.get(idempotency_key=payout.idempotency_key)
            assert bank.amount_jpy == payout.amount_jpy
            assert payout.rail_reference == f"SBX-{bank.pk:010d}"
        else:
            assert payout.status == "failed" and payout.last_error, payout
    # One payout per claimant per round, and what was paid is what the payouts say.
    per_round = Counter(Payout.objects.values_list("entitlement_id", "allocation_id"))
    assert all(n == 1 for n in per_round.values())
    assert sum(paid_by_claim().values()) == sum(a.balance_jpy for a in Account.objects.filter(kind="paid"))
    report = ledger_reconcile()
    assert report.ok, report.problems
    # Every paid payout has exactly one signed receipt, nothing else has one. The workers sign them after each
    # payment commits; the sweep (run here, perhaps while workers still sign) issues what a killed worker dropped.
    services.payout_receipts_sweep(grace=dt.timedelta(0))
    issued = Counter(Receipt.objects.filter(subject_type="reserves.payout").values_list("subject_id", flat=True))
    assert set(issued) == {str(pk) for pk in Payout.objects.filter(status="paid").values_list("pk", flat=True)}
    assert set(issued.values()) <= {1}


def test_two_workers_allocating_two_incidents_never_overdraw_the_reserve(worker_env_for):
    reserve_fund(1_000_000)
    fund_a, fund_b = fund_open("rel-a"), fund_open("rel-b")
    # Both incidents together are owed ¥4,000,000; the reserve holds a quarter of it.
    with worker_processes(env=worker_env_for(PAYOUT_CHUNK_SIZE="25"), count=2):
        register(fund_a, {f"A-{i}": 5_000 for i in range(400)})
        register(fund_b, {f"B-{i}": 5_000 for i in range(400)})
        for _ in range(3):  # the same work asked for again and again, from both workers
            incident_allocate.delay("rel-a", "test")
            incident_allocate.delay("rel-b", "test")
            payouts_process.delay(fund_a.pk)
            payouts_process.delay(fund_b.pk)
        wait_until(lambda: settled(fund_a) and settled(fund_b))
        # The workers sign every payout's receipt on their own, after the payments (follow-up work).
        wait_until(lambda: not receipt_selectors.payouts_without_receipt().exists(), what="the receipts")

    reserve = ledger.reserve_account()
    draws = Transfer.objects.filter(debit_account=reserve, kind="draw").aggregate(s=Sum("amount_jpy"))["s"]
    assert reserve.balance_jpy == 1_000_000 - draws >= 0
    assert sum(Payout.objects.values_list("amount_jpy", flat=True)) <= draws <= 1_000_000
    for fund in (fund_a, fund_b):
        paid = paid_by_claim(incident_code=fund.incident_code)
        refs = Entitlement.objects.filter(fund=fund).values_list("claim_ref", flat=True)
        amounts = {paid.get(ref, 0) for ref in refs}
        assert len(amounts) == 1  # one distribution rate for everyone in the incident (the first to run takes all)
    assert_paid_exactly_once()


def test_a_task_delivered_twice_pays_once(worker_env_for):
    reserve_fund(10_000_000)
    fund = fund_open()
    with worker_processes(env=worker_env_for(PAYOUT_CHUNK_SIZE="10"), count=2):
        services.incident_fund_hold(actor=CHECKER, fund=fund, on_hold=True)
        register(fund, {f"T-{i}": 1_000 + i for i in range(60)})
        services.incident_fund_hold(actor=CHECKER, fund=fund, on_hold=False)
        # The broker hands the very same messages over twice (same task ids).
        for task_id in ("alloc-twice", "alloc-twice"):
            incident_allocate.apply_async(args=[fund.incident_code, "twice"], task_id=task_id)
        for task_id in ("drain-twice", "drain-twice", "drain-twice-2", "drain-twice-2"):
            payouts_process.apply_async(args=[fund.pk], task_id=task_id)
        wait_until(lambda: settled(fund))
        first = list(Payout.objects.filter(status="paid").values_list("pk", flat=True))
        # A late duplicate of a send, after everything was paid, changes nothing.
        from reserves.tasks import payouts_send

        payouts_send.apply_async(args=[first]).get(timeout=30)
        payouts_send.apply_async(args=[first]).get(timeout=30)

    assert Payout.objects.count() == 60
    assert sorted(paid_by_claim().values()) == [1_000 + i for i in range(60)]
    assert SandboxTransfer.objects.count() == 60
    assert_paid_exactly_once()


def test_a_worker_killed_mid_batch_leaves_nothing_half_done_and_the_batch_completes(worker_env_for):
    reserve_fund(10_000_000)
    fund = fund_open()
    # One drainer at a time, so after the kill only the redelivered message can carry the batch on.
    slow = worker_env_for(PAYOUT_CHUNK_SIZE="20", SANDBOX_RAIL_LATENCY_MS="400", PAYOUT_PARALLEL_TASKS="1")
    with worker_processes(env=slow, count=1) as (worker,):
        register(fund, {f"K-{i}": 2_000 for i in range(200)})
        wait_until(lambda: Payout.objects.filter(status="paid").count() >= 40, what="the first chunks")
        worker.kill()  # SIGKILL to the worker and its pool child, mid-batch

    # Nothing half-done: every allocated yen is in a payout, and the ledger agrees with the payouts.
    paid_before = Payout.objects.filter(status="paid").count()
    assert 0 < paid_before < 200
    for e in Entitlement.objects.all():
        assert e.allocated_jpy == (e.payouts.aggregate(s=Sum("amount_jpy"))["s"] or 0)
    assert ledger_reconcile().ok

    # A new worker picks the redelivered task up (visibility timeout) and finishes the batch.
    with worker_processes(env=worker_env_for(PAYOUT_CHUNK_SIZE="20", PAYOUT_PARALLEL_TASKS="1"), count=1):
        wait_until(lambda: settled(fund), timeout=120)

    assert Payout.objects.filter(status="paid").count() == 200
    assert set(paid_by_claim().values()) == {2_000}
    assert_paid_exactly_once()


def test_a_rail_failing_30_percent_of_the_time_pays_each_exactly_once_or_fails_visibly(worker_env_for):
    reserve_fund(10_000_000)
    fund = fund_open()
    flaky = worker_env_for(PAYOUT_CHUNK_SIZE="25", SANDBOX_RAIL_FAILURE_RATE="0.3", PAYOUT_MAX_ATTEMPTS="3")
    with worker_processes(env=flaky, count=2):
        register(fund, {f"F-{i}": 3_000 for i in range(300)})
        wait_until(lambda: settled(fund), timeout=120)
        statuses = Counter(Payout.objects.values_list("status", flat=True))
        assert statuses["paid"] + statuses["failed"] == 300
        assert statuses["paid"] > 200
        assert_paid_exactly_once()

        # Staff retry what failed; it ends paid or visibly failed again, never paid twice.
        failed = list(Payout.objects.filter(status="failed").values_list("pk", flat=True))
        if failed:
            services.payouts_retry(actor=CHECKER, payout_ids=failed, reason="test retry")
            wait_until(lambda: settled(fund), timeout=120)

    assert_paid_exactly_once()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM reserves_payout WHERE attempts > 3")
        assert cursor.fetchone()[0] == 0
