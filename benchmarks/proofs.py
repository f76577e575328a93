"""`python manage.py bench proofs`: inclusion and consistency proofs against a trail of --events events.

Makes sure the trail holds at least --events events (they stay: use a scratch
database). Filling 10,000,000 events through events_record would take many
minutes, so whole tiles of `bench.filler` events are written with SQL: the
events with INSERT … SELECT generate_series, their level-0 tiles with
PostgreSQL's own sha256() over the same canonical entry, and the tiles above
from those in Python; the bench then checks sampled leaves against the
Python encoding, and the root against the tiles, before it times anything.

Timed: --samples inclusion proofs (random event, random size up to the tree)
and consistency proofs (random sizes), each through the service alone (the
proof: tile reads and hashing) and through the regulator API as a regulator's
client calls it (Django test client: session, role, JSON, and the request's
own `regulator.viewed` audit event, a fixed cost of every regulator request
that `regulator_request_overhead` measures on a trivial endpoint). The naive
path builds the same inclusion proof from the leaf hashes alone (no upper
tiles) for a tree of --naive-events.
"""

import random
import statistics
import sys
import time
from typing import Any

from django.db import connection, transaction
from tqdm import tqdm

from audit import tlog
from audit.log.append import _level_append, head_lock, tree_head
from audit.log.entries import entry_bytes
from audit.log.tiles import consistency_proof, inclusion_proof, leaf_hashes, root_at
from audit.log.verify import event_dicts
from audit.models import TreeHead
from audit.services import Actor, EventInput, events_record
from benchmarks.audit_export import regulator_client

ACTOR = Actor.system("system:bench")
CREATED_AT = "2026-01-01T00:00:00.000000Z"
TILES_PER_TRANSACTION = 400  # 102,400 events


def add_arguments(parser: Any) -> None:
    parser.add_argument("--events", type=int, default=10_000_000, help="events the trail must hold")
    parser.add_argument("--samples", type=int, default=200, help="proofs of each kind to time")
    parser.add_argument("--naive-events", type=int, default=1_000_000, help="tree size of the naive proof")
    parser.add_argument("--seed", type=int, default=12)


def _record(n: int) -> None:
    if n > 0:
        with transaction.atomic():
            events_record(actor=ACTOR, events=[EventInput("bench.filler", "bench", str(i), {"i": i}) for i in range(n)])


_EVENTS_SQL = """
INSERT INTO audit_event (seq, created_at, actor_id, actor, role, action, subject_type, subject_id, data, request_id)
SELECT g, %s::timestamptz, NULL, 'system:bench', 'system', 'bench.filler', 'bench', g::text,
       jsonb_build_object('i', g), ''
FROM generate_series(%s::bigint, %s::bigint) AS g
"""
# The canonical entry of such an event (keys in RFC 8785 order), hashed as an RFC 9162 leaf.
_TILES_SQL = """
INSERT INTO audit_tile (level, index, hashes)
SELECT 0, (g - 1) / 256, string_agg(
    sha256('\\x00'::bytea || convert_to(
        '{"action":"bench.filler","actor":"system:bench","actor_id":null,"created_at":"' || %s
        || '","data":{"i":' || g || '},"request_id":"","role":"system","seq":' || g
        || ',"subject_id":"' || g || '","subject_type":"bench"}', 'UTF8')),
    ''::bytea ORDER BY g)
FROM generate_series(%s::bigint, %s::bigint) AS g
GROUP BY (g - 1) / 256
"""


def _tile_root(data: bytes) -> bytes:
    row = [data[i : i + 32] for i in range(0, len(data), 32)]
    while len(row) > 1:
        row = [tlog.node_hash(row[i], row[i + 1]) for i in range(0, len(row), 2)]
    return row[0]


def _append_whole_tiles(count: int) -> None:
    """Append `count` full tiles of filler events with SQL (caller: the size is a multiple of 256)."""
    with transaction.atomic():
        head = head_lock()
        size = head.size
        first, last = size + 1, size + count * tlog.TILE_WIDTH
        with connection.cursor() as cursor:
            cursor.execute(_EVENTS_SQL, [CREATED_AT, first, last])
            cursor.execute(_TILES_SQL, [CREATED_AT, first, last])
            cursor.execute(
                "SELECT index, hashes FROM audit_tile WHERE level = 0 AND index >= %s AND index < %s ORDER BY index",
                [size // tlog.TILE_WIDTH, size // tlog.TILE_WIDTH + count],
            )
            roots = [_tile_root(bytes(data)) for _index, data in cursor.fetchall()]
        # Above the leaves the tree grows by whole tiles: a frontier over tile roots (heights 8 and up).
        upper = tlog.Frontier.unpack(size // tlog.TILE_WIDTH, bytes(head.frontier))
        added: dict[int, list[bytes]] = {1: roots}
        firsts = {1: size // tlog.TILE_WIDTH}

        def on_node(height: int, index: int, value: bytes) -> None:
            if height % tlog.TILE_HEIGHT == 0:
                level = height // tlog.TILE_HEIGHT + 1
                firsts.setdefault(level, index)
                added.setdefault(level, []).append(value)

        for root in roots:
            upper.append(root, on_node)
        for level, hashes in added.items():
            _level_append(level, firsts[level], hashes)
        TreeHead.objects.filter(pk=1).update(size=last, root=upper.root().hex(), frontier=upper.packed())


def _fill(events: int) -> None:
    size = tree_head()[0]
    if size >= events:
        return
    _record(min(-size % tlog.TILE_WIDTH, events - size))
    size = tree_head()[0]
    whole = (events - size) // tlog.TILE_WIDTH
    with tqdm(total=whole * tlog.TILE_WIDTH, desc="adding events", unit="event", file=sys.stderr) as bar:
        while whole > 0:
            count = min(TILES_PER_TRANSACTION, whole)
            _append_whole_tiles(count)
            whole -= count
            bar.update(count * tlog.TILE_WIDTH)
    _record(events - tree_head()[0])


def _check(size: int, rng: random.Random) -> None:
    """Sampled leaves equal the Python encoding of their events; the tiles give the head's root."""
    for seq in rng.sample(range(1, size + 1), min(size, 50)):
        event = next(event_dicts(after_seq=seq - 1, up_to_seq=seq))
        if tlog.leaf_hash(entry_bytes(event)) != leaf_hashes(seq - 1, seq)[0]:
            raise RuntimeError(f"event #{seq}: the SQL-written leaf differs from the canonical entry")
    if root_at(size).hex() != tree_head()[1]:
        raise RuntimeError("the tiles do not give the head's root")


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


def _timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _naive_inclusion(index: int, size: int) -> list[bytes]:
    """The same proof from the leaf hashes alone: every subtree hashed from its leaves."""
    leaves = leaf_hashes(0, size)
    return tlog.inclusion_path(tlog.memory_full_hash(leaves), index, size)


def run(*, events: int, samples: int, naive_events: int, seed: int, **_: Any) -> dict[str, Any]:
    if connection.vendor != "postgresql":
        raise SystemExit("bench proofs needs PostgreSQL (DATABASE_URL)")
    rng = random.Random(seed)
    _fill(events)
    size = tree_head()[0]
    _check(size, rng)
    client = regulator_client()
    pairs = [(rng.randint(1, size), rng.randint(1, size)) for _ in range(samples)]
    pairs = [(min(a, b), max(a, b)) for a, b in pairs]
    api_inclusion, api_consistency, inclusion, consistency, overhead = [], [], [], [], []
    for seq, tree_size in tqdm(pairs, desc="proofs", file=sys.stderr):
        api_inclusion.append(
            _timed(lambda s=seq, n=tree_size: client.get("/api/regulator/audit/log/inclusion/", {"seq": s, "size": n}))
        )
        api_consistency.append(
            _timed(lambda s=seq, n=tree_size: client.get("/api/regulator/audit/log/consistency/", {"from": s, "to": n}))
        )
        overhead.append(_timed(lambda: client.get("/api/regulator/audit/witnesses/")))
        inclusion.append(_timed(lambda s=seq, n=tree_size: inclusion_proof(s - 1, n)))
        consistency.append(_timed(lambda s=seq, n=tree_size: consistency_proof(s, n)))
    seq, tree_size = pairs[0]
    proof = client.get("/api/regulator/audit/log/inclusion/", {"seq": seq, "size": tree_size}).json()
    leaf = tlog.leaf_hash(entry_bytes(proof["event"]))
    path = [tlog.unb64(h, "hash") for h in proof["inclusion"]]
    if tlog.root_from_inclusion(seq - 1, tree_size, leaf, path) != root_at(tree_size):
        raise RuntimeError("an inclusion proof from the API does not verify")
    naive_size = min(naive_events, size)
    naive_seconds = _timed(lambda: _naive_inclusion(naive_size // 2, naive_size))
    fast = statistics.median(inclusion)
    return {
        "bench": "proofs",
        "database": connection.vendor,
        "n": size,
        "samples": samples,
        "seconds": round(sum(api_inclusion) + sum(api_consistency), 3),
        "api_inclusion": _ms(api_inclusion),
        "api_consistency": _ms(api_consistency),
        "inclusion": _ms(inclusion),
        "consistency": _ms(consistency),
        # Every regulator request pays this whatever it asks: login session, role check, and its own
        # regulator.viewed audit event (measured on the witness list, which reads one small table).
        "regulator_request_overhead": _ms(overhead),
        "fast_per_s": round(1 / fast, 1),
        "naive_n": naive_size,
        "naive_seconds": round(naive_seconds, 3),
        "naive_per_s": round(1 / naive_seconds, 3),
        "ratio": round(naive_seconds / fast, 1),
        "target_ms": 10,
        "met_by_the_proofs": _ms(inclusion)["p95_ms"] < 10 and _ms(consistency)["p95_ms"] < 10,
    }
