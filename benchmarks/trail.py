"""`python manage.py bench trail`: the audit trail at the size of ten years: insert rate, verify time, proof time.

For the partitioning plan (docs/operations.md, "Ten years of data"). On a scratch database (the events stay):

- insert rate through the real path: `--batch-events` events recorded by `events_record` in transactions of
  `--batch` (a bulk approval's pattern), and `--single-events` events one per transaction (`event_record`,
  a web request's pattern);
- the trail brought to `--events` events the way `bench proofs` does (whole tiles written with SQL; the rate is
  reported as `bulk_fill_per_s` and is not the application's insert rate), sampled leaves checked;
- verify: `log_verify()`, what `manage.py audit_verify` runs (every event re-encoded and hashed, the tiles,
  the head, every checkpoint), timed once over the whole trail;
- proofs: inclusion and consistency proofs at the full size, `--samples` each.

The naive path is the verify without tiles: the root recomputed from every leaf hash in memory.
"""

import random
import statistics
import sys
import time
from typing import Any

from django.db import connection, transaction
from tqdm import tqdm

from audit import tlog
from audit.log.append import tree_head
from audit.log.tiles import consistency_proof, inclusion_proof, leaf_hashes
from audit.log.verify import log_verify
from audit.services import Actor, EventInput, event_record, events_record
from benchmarks.proofs import _check, _fill, _ms

ACTOR = Actor.system("system:bench")


def add_arguments(parser: Any) -> None:
    parser.add_argument("--events", type=int, default=10_000_000, help="events the trail must hold")
    parser.add_argument("--batch-events", type=int, default=200_000, help="events recorded in batches (timed)")
    parser.add_argument("--batch", type=int, default=5_000, help="events per transaction in the batched insert")
    parser.add_argument("--single-events", type=int, default=2_000, help="events recorded one per transaction")
    parser.add_argument("--samples", type=int, default=200, help="proofs of each kind to time")
    parser.add_argument("--naive-events", type=int, default=1_000_000, help="leaves of the naive root")
    parser.add_argument("--seed", type=int, default=14)


def _batched(total: int, batch: int) -> float:
    started = time.perf_counter()
    with tqdm(total=total, desc="events_record", unit="event", file=sys.stderr) as bar:
        done = 0
        while done < total:
            n = min(batch, total - done)
            with transaction.atomic():
                events_record(
                    actor=ACTOR,
                    events=[EventInput("bench.trail", "bench", str(done + i), {"i": done + i}) for i in range(n)],
                )
            done += n
            bar.update(n)
    return time.perf_counter() - started


def _single(total: int) -> float:
    started = time.perf_counter()
    for i in tqdm(range(total), desc="event_record", unit="event", file=sys.stderr):
        with transaction.atomic():
            event_record(actor=ACTOR, action="bench.trail_one", subject=("bench", i), data={"i": i})
    return time.perf_counter() - started


def run(
    *,
    events: int,
    batch_events: int,
    batch: int,
    single_events: int,
    samples: int,
    naive_events: int,
    seed: int,
    **_: Any,
) -> dict[str, Any]:
    if connection.vendor != "postgresql":
        raise SystemExit("bench trail needs PostgreSQL (DATABASE_URL)")
    rng = random.Random(seed)
    batched_seconds = _batched(batch_events, batch)
    single_seconds = _single(single_events)
    before = tree_head()[0]
    started = time.perf_counter()
    _fill(events)
    fill_seconds = time.perf_counter() - started
    size = tree_head()[0]
    filled = size - before
    _check(size, rng)
    started = time.perf_counter()
    check = log_verify()
    verify_seconds = time.perf_counter() - started
    if not check.ok:
        raise RuntimeError(f"the trail does not verify: {check.problem}")
    inclusion, consistency = [], []
    for _ in tqdm(range(samples), desc="proofs", file=sys.stderr):
        a, b = sorted((rng.randint(1, size), rng.randint(1, size)))
        started = time.perf_counter()
        inclusion_proof(a - 1, size)
        inclusion.append(time.perf_counter() - started)
        started = time.perf_counter()
        consistency_proof(a, size if b == a else b)
        consistency.append(time.perf_counter() - started)
    naive_n = min(naive_events, size)
    started = time.perf_counter()
    tlog.memory_full_hash(leaf_hashes(0, naive_n))
    naive_seconds = time.perf_counter() - started
    verify_per_s = check.checked / verify_seconds
    return {
        "bench": "trail",
        "database": connection.vendor,
        "n": size,
        "seconds": round(verify_seconds, 1),
        "insert_batched_per_s": round(batch_events / batched_seconds),
        "insert_batch": batch,
        "insert_single_per_s": round(single_events / single_seconds, 1) if single_events else None,
        "bulk_fill_per_s": round(filled / fill_seconds) if filled else None,
        "verify_seconds": round(verify_seconds, 1),
        "verify_checked": check.checked,
        "inclusion": _ms(inclusion),
        "consistency": _ms(consistency),
        "fast_per_s": round(verify_per_s),
        "naive_n": naive_n,
        "naive_per_s": round(naive_n / naive_seconds),
        "ratio": round(verify_per_s / (naive_n / naive_seconds), 2),
        "proof_p95_ms": max(_ms(inclusion)["p95_ms"], _ms(consistency)["p95_ms"]),
        "median_inclusion_ms": round(statistics.median(inclusion) * 1000, 3),
    }
