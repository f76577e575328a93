"""`python manage.py bench snapshot`: the streamed snapshot import against a row-by-row ORM import."""

import csv
import datetime as dt
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from audit.services import Actor
from claims import services
from claims.models import Customer, Holding, Incident, IncidentAsset, Snapshot
from claims.services.snapshot import _ErrorReport, snapshot_rows

BENCH_ASSETS = ("BTC", "ETH", "XEM", "XRP")
ACTOR = Actor.system("system:bench")


def _write_csv(path: Path, *, rows: int, prefix: str) -> None:
    """rows/4 customers with one row per asset, deterministic quantities with 18 decimal places."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["account_id", "name", "email", "asset", "quantity"])
        for i in tqdm(range(rows), desc=f"generating {prefix}", unit="row", file=sys.stderr, mininterval=0.5):
            customer = i // len(BENCH_ASSETS)
            symbol = BENCH_ASSETS[i % len(BENCH_ASSETS)]
            quantity = f"{(i * 7919) % 100000}.{(i * 104729) % 10**18:018d}"
            writer.writerow(
                [
                    f"{prefix}{customer:07d}",
                    f"Customer {customer}",
                    f"c{customer}@{prefix.strip('-')}.example",
                    symbol,
                    quantity,
                ]
            )


def bench_incident(code: str) -> Incident:
    """A draft incident with the four bench assets, priced."""
    now = timezone.now()
    return services.incident_declare(
        actor=ACTOR,
        code=code,
        title=f"Benchmark {code}",
        occurred_at=now - dt.timedelta(days=1),
        detected_at=now - dt.timedelta(hours=20),
        snapshot_base_time=now - dt.timedelta(days=1, hours=1),
        claim_opens_at=now,
        claim_closes_at=now + dt.timedelta(days=60),
        assets=[
            services.AssetInput(
                symbol=symbol,
                quantity_lost=Decimal(1000),
                wallet_type="hot",
                reference_price_jpy=Decimal("1000.5"),
                price_source="bench",
                price_method="fixed",
            )
            for symbol in BENCH_ASSETS
        ],
    )


def bench_cleanup(incident: Incident, customer_prefix: str) -> None:
    """Delete what a benchmark created (audit events stay: the trail is append-only)."""
    with transaction.atomic():
        Holding.objects.filter(asset__incident=incident).delete()
        Snapshot.objects.filter(incident=incident).delete()
        IncidentAsset.objects.filter(incident=incident).delete()
        Incident.objects.filter(pk=incident.pk).delete()
        Customer.objects.filter(account_id__startswith=customer_prefix).delete()


def _naive_import(incident: Incident, path: Path) -> int:
    """The same rows, validated the same way, but written one ORM call at a time."""
    assets = dict(incident.assets.values_list("symbol", "id"))
    errors = _ErrorReport(10)
    count = 0
    with transaction.atomic(), path.open("rb") as handle:
        for row in snapshot_rows(handle, assets=assets, errors=errors):
            customer, _ = Customer.objects.get_or_create(
                account_id=row.account_id, defaults={"name": row.name, "email": row.email}
            )
            Holding.objects.create(asset_id=row.asset_id, customer=customer, quantity=Decimal(row.quantity))
            count += 1
    if errors:
        raise RuntimeError(f"bench data rejected: {errors.items}")
    return count


def add_arguments(parser: Any) -> None:
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the generated snapshot")
    parser.add_argument("--naive-rows", type=int, default=20_000, help="rows of the row-by-row sample")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark incidents and customers")


def run(*, rows: int, naive_rows: int, keep: bool, **_: Any) -> dict[str, Any]:
    """Time the fast import of `rows` rows and the naive import of a sample; return the JSON line."""
    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    naive_rows = min(naive_rows, rows)
    with tempfile.TemporaryDirectory() as tmp:
        fast_csv, naive_csv = Path(tmp) / "fast.csv", Path(tmp) / "naive.csv"
        fast_prefix, naive_prefix = f"bf{stamp}-", f"bn{stamp}-"
        _write_csv(fast_csv, rows=rows, prefix=fast_prefix)
        _write_csv(naive_csv, rows=naive_rows, prefix=naive_prefix)
        fast_incident = bench_incident(f"bench-fast-{stamp}")
        naive_incident = bench_incident(f"bench-naive-{stamp}")
        try:
            with (
                fast_csv.open("rb") as handle,
                tqdm(
                    total=fast_csv.stat().st_size, unit="B", unit_scale=True, desc="fast import", file=sys.stderr
                ) as bar,
            ):
                started = time.perf_counter()
                result = services.snapshot_import(
                    actor=ACTOR, incident=fast_incident, file=handle, file_name="fast.csv", progress=bar.update
                )
                fast_seconds = time.perf_counter() - started
            assert result.snapshot.row_count == rows, (result.snapshot.row_count, rows)
            print(f"naive import of {naive_rows} rows ...", file=sys.stderr)
            started = time.perf_counter()
            naive_count = _naive_import(naive_incident, naive_csv)
            naive_seconds = time.perf_counter() - started
            assert naive_count == naive_rows
        finally:
            if not keep:
                print("cleaning up ...", file=sys.stderr)
                bench_cleanup(fast_incident, fast_prefix)
                bench_cleanup(naive_incident, naive_prefix)
    fast_per_s = rows / fast_seconds
    naive_per_s = naive_rows / naive_seconds
    return {
        "bench": "snapshot",
        "database": connection.vendor,
        "n": rows,
        "seconds": round(fast_seconds, 3),
        "fast_per_s": round(fast_per_s, 1),
        "naive_n": naive_rows,
        "naive_seconds": round(naive_seconds, 3),
        "naive_per_s": round(naive_per_s, 1),
        "ratio": round(fast_per_s / naive_per_s, 2),
    }
