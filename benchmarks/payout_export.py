"""`python manage.py bench payout_export`: the regulator's streamed payout CSV against building it in memory.

Makes sure the database holds at least --rows payouts: the missing ones are
added as one synthetic incident fund (on hold, so no allocation or sweep ever
touches it) with one paid payout per synthetic claimant, inserted in bulk
(one multi-row statement per 20,000 rows) together with four ledger
transfers (funding, reserve draw, allocation, payment) so the ledger still
reconciles. They stay (transfers are append-only): run it against a scratch
database. Then it downloads /api/regulator/payouts/?format=csv through
Django's test client as a regulator would, and builds the same CSV the naive
way (model instances in a list, one string, one HttpResponse) for a sample
of --naive-rows rows. Each is timed once plainly and run once more under
tracemalloc for its peak Python memory (the naive peak is also scaled to 1M rows).
"""

import csv
import io
import sys
import time
import tracemalloc
from typing import Any

from django.db import connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from tqdm import tqdm

from audit.services import Actor
from benchmarks.audit_export import export_compared
from core.bulk import rows_insert
from reserves import ledger, services
from reserves.models import Account, Allocation, Entitlement, IncidentFund, Payout
from reserves.selectors.payout_history import PAYOUT_COLUMNS

CHUNK = 20_000
EXPORT_PATH = "/api/regulator/payouts/"
ACTOR = Actor.system("system:bench")
PAYEE = {
    "bank_code": "0001",
    "branch_code": "001",
    "account_type": "ordinary",
    "account_number": "1234567",
    "holder_kana": "ﾍﾞﾝﾁ ﾀﾛｳ",
}


def add_arguments(parser: Any) -> None:
    parser.add_argument("--rows", type=int, default=100_000, help="payouts the database must hold (export size)")
    parser.add_argument("--naive-rows", type=int, default=100_000, help="rows of the in-memory sample")


def _amount(i: int) -> int:
    return 1_000 + (i * 7_919) % 1_000_000


def _fund_with_ledger(code: str, count: int, total: int) -> tuple[IncidentFund, Allocation]:
    """A held fund, its one allocation round, and the ledger transfers that pay `total` out of the reserve."""
    fund = services.incident_fund_open(
        actor=ACTOR, incident_code=code, title="Benchmark: synthetic payouts", detected_at=timezone.now()
    )
    fund = services.incident_fund_hold(actor=ACTOR, fund=fund, on_hold=True, reason="bench payout_export")
    with transaction.atomic():
        pool, allocated, paid = (
            Account.objects.get(pk=pk) for pk in (fund.pool_account_id, fund.allocated_account_id, fund.paid_account_id)
        )
        reserve = ledger.reserve_account()
        ledger.transfers_post(
            transfers=[
                ledger.TransferInput(f"bench:{code}:funding", ledger.exchange_account(), reserve, total, "funding"),
                ledger.TransferInput(f"bench:{code}:draw", reserve, pool, total, "draw", code, "synthetic"),
                ledger.TransferInput(f"bench:{code}:allocation", pool, allocated, total, "allocation", code),
                ledger.TransferInput(f"bench:{code}:payout", allocated, paid, total, "payout", code),
            ]
        )
        allocation = Allocation.objects.create(
            fund=fund,
            seq=1,
            rule_version="bench",
            reason="bench payout_export",
            inputs={},
            # What the regulator's summary reads of a round (bench regulator): the reserve pays it all.
            result={"waterfall": {"policies": [], "reserve_jpy": total, "shortfall_jpy": 0}, "planned_rate": "1"},
            claimant_count=count,
            eligible_total_jpy=total,
            loss_basis_jpy=total,
            base_total_jpy=0,
            funds_jpy=total,
            level_jpy=total,
            planned_jpy=total,
            created_by=ACTOR.name,
        )
        IncidentFund.objects.filter(pk=fund.pk).update(round=1)
    return fund, allocation


def _insert_chunk(fund: IncidentFund, allocation: Allocation, first: int, count: int) -> None:
    now = timezone.now()
    indexes = range(first, first + count)
    refs = [f"{fund.incident_code}-{i:07d}" for i in indexes]
    amounts = [_amount(i) for i in indexes]
    with transaction.atomic():
        returned = rows_insert(
            model=Entitlement,
            columns={
                "fund_id": [fund.pk] * count,
                "claim_ref": refs,
                "customer_account_id": [f"BX-{i:07d}" for i in indexes],
                "customer_name": [f"ベンチ 太郎 {i}" for i in indexes],
                "eligible_jpy": amounts,
                "base_jpy": [0] * count,
                "payee_method": ["bank"] * count,
                "payee": [PAYEE] * count,
                "lines": [[]] * count,
                "allocated_jpy": amounts,
                "admitted_round": [1] * count,
                "round": [1] * count,
                "registered_at": [now] * count,
            },
            returning=["claim_ref", "id"],
        )
        if returned is None:  # not PostgreSQL: read the ids back
            returned = []
            for start in range(0, count, 5000):
                returned += Entitlement.objects.filter(claim_ref__in=refs[start : start + 5000]).values_list(
                    "claim_ref", "id"
                )
        ids = dict(returned)
        rows_insert(
            model=Payout,
            columns={
                "fund_id": [fund.pk] * count,
                "entitlement_id": [ids[ref] for ref in refs],
                "allocation_id": [allocation.pk] * count,
                "claim_ref": refs,
                "amount_jpy": amounts,
                "breakdown": [{"reserve": amount} for amount in amounts],
                "method": ["bank"] * count,
                "rail": ["sandbox"] * count,
                "in_kind": [[]] * count,
                "idempotency_key": [f"{ref}:r1" for ref in refs],
                "status": ["paid"] * count,
                "attempts": [1] * count,
                "next_attempt_at": [now] * count,
                "last_error": [""] * count,
                "rail_reference": [f"BENCH-{i:010d}" for i in indexes],
                "created_at": [now] * count,
                "updated_at": [now] * count,
                "paid_at": [now] * count,
            },
        )


def _fill(rows: int) -> int:
    """Add synthetic paid payouts until there are `rows`; returns how many were added."""
    missing = rows - Payout.objects.count()
    if missing <= 0:
        return 0
    code = f"bench-export-{timezone.now():%Y%m%d%H%M%S}"
    fund, allocation = _fund_with_ledger(code, missing, sum(_amount(i) for i in range(missing)))
    with tqdm(total=missing, desc="adding payouts", unit="payout", file=sys.stderr, mininterval=0.5) as bar:
        for first in range(0, missing, CHUNK):
            count = min(CHUNK, missing - first)
            _insert_chunk(fund, allocation, first, count)
            bar.update(count)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE reserves_payout; ANALYZE reserves_entitlement")
    return missing


def _naive(rows: int, *, trace: bool) -> tuple[int, float, int]:
    """The same CSV built in memory: every payout loaded as a model instance, one string, one response."""
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    payouts = list(Payout.objects.select_related("fund", "allocation", "entitlement").order_by("id")[:rows])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.title() for c in PAYOUT_COLUMNS])
    for p in payouts:
        row = {
            "id": p.pk,
            "incident": p.fund.incident_code,
            "claim_ref": p.claim_ref,
            "customer_account_id": p.entitlement.customer_account_id,
            "customer_name": p.entitlement.customer_name,
            "round": p.allocation.seq,
            "amount_jpy": p.amount_jpy,
            "breakdown": p.breakdown,
            "method": p.method,
            "rail": p.rail,
            "status": p.status,
            "attempts": p.attempts,
            "rail_reference": p.rail_reference,
            "created_at": p.created_at,
            "paid_at": p.paid_at,
        }
        writer.writerow([c.value(row) for c in PAYOUT_COLUMNS])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv")
    seconds = time.perf_counter() - started
    peak = 0
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert len(response.content) > 0
    return len(payouts), seconds, peak


def run(*, rows: int, naive_rows: int, **_: Any) -> dict[str, Any]:
    started = time.perf_counter()
    inserted = _fill(rows)
    insert_seconds = time.perf_counter() - started
    return {
        "bench": "payout_export",
        "inserted": inserted,
        "insert_seconds": round(insert_seconds, 1),
        **export_compared(path=EXPORT_PATH, naive=_naive, naive_rows=naive_rows),
    }
