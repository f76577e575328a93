"""`python manage.py bench approvals`: approving one batch of snapshot-matching claims against one at a time."""

import datetime as dt
import sys
import time
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from accounts.models import StaffAccount, StaffMember
from audit.models import Event
from benchmarks.snapshot import ACTOR, bench_cleanup, bench_incident
from claims import services
from claims.models import (
    Claim,
    ClaimAction,
    ClaimApproval,
    ClaimBatch,
    ClaimLine,
    ClaimTimelineEntry,
    Holding,
    Incident,
    PayoutChoice,
)
from claims.services import bulk as bulk_approval
from core.money import jpy_value
from core.roles import Role
from core.types import User

CHUNK = 5000


def _write_snapshot(path: Any, *, customers: int, prefix: str) -> None:
    """Two rows (BTC, XEM) per customer; quantities below 1,000 so every claim stays under the threshold."""
    with path.open("w", encoding="utf-8") as handle:
        handle.write("account_id,name,email,asset,quantity\n")
        for i in range(customers):
            for j, symbol in enumerate(("BTC", "XEM")):
                quantity = f"{(i * 7919 + j) % 1000}.{(i * 104729 + j) % 10**18:018d}"
                handle.write(f"{prefix}{i:07d},Customer {i},c{i}@{prefix.strip('-')}.example,{symbol},{quantity}\n")


class _Timed:
    """Wraps a function and adds up the time spent in it."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped
        self.seconds = 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.wrapped(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


def bench_staff(name: str, role: Role) -> User:
    user = User.objects.create_user(username=name)
    user.groups.add(Group.objects.get(name=role))
    member = StaffMember.objects.create(employee_id=f"BENCH-{user.pk}", name=name)
    StaffAccount.objects.create(user=user, member=member)
    return user


def incident_with_bench_claims(*, code: str, prefix: str, customers: int, label: str) -> Incident:
    """An open incident whose `customers` customers have each filed a snapshot-matching claim (bulk-made)."""
    import tempfile
    from pathlib import Path

    incident = bench_incident(code)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "snapshot.csv"
        _write_snapshot(path, customers=customers, prefix=prefix)
        with path.open("rb") as handle:
            services.snapshot_import(actor=ACTOR, incident=incident, file=handle, file_name="bench.csv")
    # Opened without incident_transition: the bench must not email its customers.
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.OPEN)
    incident.refresh_from_db()
    claims_bulk_make(incident=incident, prefix=prefix, label=label)
    return incident


def claims_bulk_make(*, incident: Incident, prefix: str, label: str) -> None:
    """Every customer of the incident's snapshot gets a snapshot-matching claim, bulk-made (not the filing service)."""
    holdings = (
        Holding.objects.filter(asset__incident=incident)
        .order_by("customer_id", "asset_id")
        .values_list("customer_id", "asset_id", "quantity", "asset__reference_price_jpy")
    )
    by_customer: dict[int, list] = {}
    for customer_id, asset_id, quantity, price in holdings.iterator(chunk_size=CHUNK):
        by_customer.setdefault(customer_id, []).append((asset_id, quantity, price))
    now = timezone.now()
    stamp = prefix[:2].upper() + prefix.strip("-")[-6:]
    with transaction.atomic():
        items = list(by_customer.items())
        for start in tqdm(range(0, len(items), CHUNK), desc=f"filing {label} claims", file=sys.stderr, unit="chunk"):
            _claims_file(incident=incident, chunk=items[start : start + CHUNK], first=start, stamp=stamp, now=now)


def _claims_file(
    *, incident: Incident, chunk: list[tuple[int, list]], first: int, stamp: str, now: dt.datetime
) -> None:
    """One chunk of customers' claims, their lines (everything claimed as held) and bank payout choices."""
    claims = Claim.objects.bulk_create(
        [
            Claim(
                ref=f"{stamp}{first + i:07d}",
                incident=incident,
                customer_id=customer_id,
                idempotency_key=f"bench-{customer_id}",
                request_fingerprint="bench",
                amount_jpy=sum(jpy_value(q, p) for _, q, p in lines),
                submitted_at=now,
            )
            for i, (customer_id, lines) in enumerate(chunk)
        ]
    )
    ClaimLine.objects.bulk_create(
        [
            ClaimLine(
                claim=claim,
                asset_id=asset_id,
                snapshot_quantity=quantity,
                claimed_quantity=quantity,
                approved_quantity=quantity,
                value_jpy=jpy_value(quantity, price),
            )
            for claim, (_, lines) in zip(claims, chunk, strict=True)
            for asset_id, quantity, price in lines
        ]
    )
    PayoutChoice.objects.bulk_create(
        [
            PayoutChoice(
                claim=claim,
                method="bank",
                bank_code="0001",
                bank_name="みずほ",
                branch_code="001",
                branch_name="東京営業部",
                account_type="1",
                account_number="1234567",
                holder_name_kana="ﾍﾞﾝﾁ",
            )
            for claim in claims
        ]
    )


def _cleanup(incident: Incident, prefix: str) -> None:
    """Delete the claims and then the incident and customers (audit events stay: the trail is append-only)."""
    with transaction.atomic():
        claims = Claim.objects.filter(incident=incident)
        ClaimApproval.objects.filter(claim__in=claims).delete()
        ClaimAction.objects.filter(claim__in=claims).delete()
        ClaimTimelineEntry.objects.filter(claim__in=claims).delete()
        PayoutChoice.objects.filter(claim__in=claims).delete()
        ClaimLine.objects.filter(claim__in=claims).delete()
        claims.delete()
        ClaimBatch.objects.filter(incident=incident).delete()
    bench_cleanup(incident, prefix)


def add_arguments(parser: Any) -> None:
    parser.add_argument("--claims", type=int, default=100_000, help="claims in the batch")
    parser.add_argument("--naive-claims", type=int, default=300, help="claims approved one at a time (the sample)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark incidents, claims and users")


@dataclass(frozen=True)
class _BatchTiming:
    build_seconds: float
    seconds: float
    audit_events: int
    audit_seconds: float


def _batch_approve(*, maker: User, checker: User, incident: Incident, claims: int) -> tuple[ClaimBatch, _BatchTiming]:
    """Build the batch (maker), then time its approval (checker), the audit chain's share measured apart."""
    print("building the batch (maker) ...", file=sys.stderr)
    started = time.perf_counter()
    batch = services.claim_batch_create(actor=maker, incident=incident)
    build_seconds = time.perf_counter() - started
    events_before = Event.objects.count()
    print(f"approving {batch.claim_count} claims in one batch (checker) ...", file=sys.stderr)
    audit_timer = _Timed(bulk_approval.events_record)
    bulk_approval.events_record = audit_timer  # measured separately: the audit log's share of the time
    try:
        started = time.perf_counter()
        batch = services.claim_batch_approve(actor=checker, batch=batch)
        seconds = time.perf_counter() - started
    finally:
        bulk_approval.events_record = audit_timer.wrapped
    assert batch.claim_count == claims, (batch.claim_count, claims)
    events_written = Event.objects.count() - events_before
    assert events_written >= claims, (events_written, claims)
    return batch, _BatchTiming(build_seconds, seconds, events_written, audit_timer.seconds)


def run(*, claims: int, naive_claims: int, keep: bool, **_: Any) -> dict[str, Any]:
    """Time claim_batch_approve over `claims` claims and claim_approve over a sample; return the JSON line."""
    from config.celery import app

    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    naive_claims = max(1, min(naive_claims, claims))
    fast_prefix, naive_prefix = f"af{stamp}-", f"an{stamp}-"
    maker = bench_staff(f"bench-maker-{stamp}", Role.REVIEWER)
    checker = bench_staff(f"bench-checker-{stamp}", Role.APPROVER)
    fast = incident_with_bench_claims(
        code=f"bench-aprv-{stamp}"[:32], prefix=fast_prefix, customers=claims, label="batch"
    )
    naive = incident_with_bench_claims(
        code=f"bench-aprn-{stamp}"[:32], prefix=naive_prefix, customers=naive_claims, label="sample"
    )
    # Customer emails are queued, not sent: with in-process tasks (no REDIS_URL) rendering 100,000
    # emails on commit would be timed as approval. Queued tasks for deleted claims send nothing.
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    try:
        batch, timing = _batch_approve(maker=maker, checker=checker, incident=fast, claims=claims)
        sample = list(Claim.objects.filter(incident=naive).order_by("pk"))
        for claim in tqdm(sample, desc="recommending the sample", file=sys.stderr):
            services.claim_recommend(actor=maker, claim=claim)
        started = time.perf_counter()
        for claim in tqdm(sample, desc="approving one at a time", file=sys.stderr):
            services.claim_approve(actor=checker, claim=claim)
        naive_seconds = time.perf_counter() - started
    finally:
        if not keep:
            print("cleaning up ...", file=sys.stderr)
            _cleanup(fast, fast_prefix)
            _cleanup(naive, naive_prefix)
            ClaimBatch.objects.filter(created_by__in=[maker, checker]).delete()
            for user in (maker, checker):
                user.delete()
        app.conf.task_always_eager = eager
    fast_per_s = claims / timing.seconds
    naive_per_s = naive_claims / naive_seconds
    return {
        "bench": "approvals",
        "database": connection.vendor,
        "n": claims,
        "seconds": round(timing.seconds, 3),
        "fast_per_s": round(fast_per_s, 1),
        "build_seconds": round(timing.build_seconds, 3),
        "audit_events": timing.audit_events,
        "audit_seconds": round(timing.audit_seconds, 3),
        "naive_n": naive_claims,
        "naive_seconds": round(naive_seconds, 3),
        "naive_per_s": round(naive_per_s, 1),
        "ratio": round(fast_per_s / naive_per_s, 2),
        "total_jpy": batch.total_jpy,
    }
