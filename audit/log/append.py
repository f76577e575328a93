"""Appending to the log, inside the writer's transaction: events, their leaf hashes in tiles, the new head.

One lock (the TreeHead row, SELECT ... FOR UPDATE) serialises writers, so
sequence numbers have no gaps and a rolled-back change leaves no event and
no hash. Bulk work appends a chunk under one lock: its leaf hashes land in
whole tiles (one upsert per chunk), not one row per event.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from audit import tlog
from audit.models import Event, Tile, TreeHead

BULK_BATCH_SIZE = 2000


@dataclass(frozen=True)
class EventRow:
    """One event ready to write: what varies per event in a batch (data as its canonical JSON text)."""

    seq: int
    action: str
    subject_type: str
    subject_id: str
    data_json: str


def head_lock() -> TreeHead:
    """Lock the tree head row, creating it on first use. Caller holds a transaction."""
    head = TreeHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        TreeHead.objects.bulk_create([TreeHead(pk=1)], ignore_conflicts=True)
        head = TreeHead.objects.select_for_update().get(pk=1)
    return head


def tree_head() -> tuple[int, str]:
    """(size, root hex) of the tree as committed now."""
    head = TreeHead.objects.filter(pk=1).first()
    return (head.size, head.root) if head else (0, tlog.EMPTY_ROOT.hex())


# Appends to the partial tile in the database without reading it first; the WHERE makes sure it ends where
# the head says (under the head lock it always does, unless the tiles were damaged).
_TILE_EXTEND_SQL = """
INSERT INTO audit_tile (level, index, hashes) VALUES (%s, %s, %s)
ON CONFLICT (level, index) DO UPDATE SET hashes = audit_tile.hashes || EXCLUDED.hashes
WHERE length(audit_tile.hashes) = %s
"""


def _level_append(level: int, first: int, hashes: Sequence[bytes]) -> None:
    """Add `hashes` at positions first.. of tile level `level` (caller holds the head lock)."""
    if not hashes:
        return
    tiles: dict[int, bytearray] = {}
    for position, value in enumerate(hashes, start=first):
        tiles.setdefault(position // tlog.TILE_WIDTH, bytearray()).extend(value)
    (first_index, first_new), *rest = tiles.items()
    offset = first % tlog.TILE_WIDTH
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_TILE_EXTEND_SQL, [level, first_index, bytes(first_new), offset * tlog.HASH_SIZE])
            if cursor.rowcount != 1:
                raise RuntimeError(f"tile {level}/{first_index} does not end where the tree head says it should")
            if rest:
                cursor.executemany(
                    "INSERT INTO audit_tile (level, index, hashes) VALUES (%s, %s, %s)",
                    [(level, index, bytes(data)) for index, data in rest],
                )
        return
    if offset:
        existing = Tile.objects.filter(level=level, index=first_index).values_list("hashes", flat=True).first()
        if existing is None or len(existing) != offset * tlog.HASH_SIZE:
            raise RuntimeError(f"tile {level}/{first_index} does not end where the tree head says it should")
        tiles[first_index] = bytearray(existing) + first_new
    Tile.objects.bulk_create(
        [Tile(level=level, index=index, hashes=bytes(data)) for index, data in tiles.items()],
        update_conflicts=True,
        unique_fields=["level", "index"],
        update_fields=["hashes"],
        batch_size=BULK_BATCH_SIZE,
    )


class LeafAppender:
    """Grow the tree under the locked head: leaf hashes in, tiles and head out (flush once per batch)."""

    def __init__(self, head: TreeHead) -> None:
        self.head = head
        self.start = head.size
        self.frontier = tlog.Frontier.unpack(head.size, bytes(head.frontier))
        self.leaves: list[bytes] = []
        self.upper: dict[int, list[bytes]] = {}
        self.upper_first: dict[int, int] = {}

    def _on_node(self, height: int, index: int, value: bytes) -> None:
        level = height // tlog.TILE_HEIGHT
        self.upper_first.setdefault(level, index)
        self.upper.setdefault(level, []).append(value)

    def add(self, entry: bytes) -> None:
        leaf = hashlib.sha256(b"\x00" + entry).digest()  # tlog.leaf_hash, inlined: bulk work calls this per event
        self.leaves.append(leaf)
        self.frontier.append(leaf, self._on_node)

    @property
    def size(self) -> int:
        return self.frontier.size

    def flush(self) -> None:
        """Write the new tile hashes and move the head (caller's transaction, after the events are written)."""
        _level_append(0, self.start, self.leaves)
        for level, hashes in self.upper.items():
            _level_append(level, self.upper_first[level], hashes)
        TreeHead.objects.filter(pk=1).update(
            size=self.frontier.size, root=self.frontier.root().hex(), frontier=self.frontier.packed()
        )


def events_write(*, rows: Sequence[EventRow], created_at, actor_id, actor, role, request_id) -> None:
    """Insert prepared events that share their actor, time and request (caller's transaction, under the head lock)."""
    events_write_each([(r, created_at, actor_id, actor, role, request_id) for r in rows])


def events_write_each(items: Sequence[tuple[EventRow, Any, int | None, str, str, str]]) -> None:
    """Insert prepared events, each (row, created_at, actor_id, actor, role, request_id); under the head lock.

    On PostgreSQL the rows go in with COPY: Django's bulk_create spent most of
    its time compiling and quoting, which made 100,000 events take ~10 s.
    """
    if connection.vendor != "postgresql":
        import json

        Event.objects.bulk_create(
            [
                Event(
                    seq=r.seq,
                    created_at=created_at,
                    actor_id=actor_id,
                    actor=actor,
                    role=role,
                    action=r.action,
                    subject_type=r.subject_type,
                    subject_id=r.subject_id,
                    data=json.loads(r.data_json),
                    request_id=request_id,
                )
                for r, created_at, actor_id, actor, role, request_id in items
            ],
            batch_size=BULK_BATCH_SIZE,
        )
        return
    columns = "seq, created_at, actor_id, actor, role, action, subject_type, subject_id, data, request_id"
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {Event._meta.db_table} ({columns}) FROM STDIN") as copy,
    ):
        for r, created_at, actor_id, actor, role, request_id in items:
            copy.write_row(
                (
                    r.seq,
                    created_at,
                    actor_id,
                    actor,
                    role,
                    r.action,
                    r.subject_type,
                    r.subject_id,
                    r.data_json,
                    request_id,
                )
            )
