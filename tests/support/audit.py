"""Small builders for the audit tests."""

import io

from django.core.management import call_command
from django.db import connection, transaction

from audit import tlog
from audit.log.entries import entry_bytes, format_time
from audit.models import Event, Tile, TreeHead
from audit.services import Actor, EventInput, event_record, events_record

ACTOR = Actor.system("tests")


def record(n: int, *, action: str = "thing.changed") -> None:
    """n events, one transaction each (as n separate changes would write them)."""
    for i in range(n):
        with transaction.atomic():
            event_record(actor=ACTOR, action=action, subject=("thing", i), data={"after": {"n": i}})


def record_bulk(n: int, *, action: str = "thing.bulk") -> None:
    with transaction.atomic():
        events_record(actor=ACTOR, events=[EventInput(action, "thing", str(i), {"i": i}) for i in range(n)])


def bypass(sql: str, params: list | None = None) -> None:
    """Change the trail behind the application's back, as an attacker with SQL access would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Superuser only: ordinary triggers (the append-only guards) do not fire.
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params or [])
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def entry_of(event: Event) -> bytes:
    fields = {name: getattr(event, name) for name in ("seq", "actor_id", "actor", "role", "action")}
    fields |= {"subject_type": event.subject_type, "subject_id": event.subject_id, "data": event.data}
    fields |= {"request_id": event.request_id, "created_at": format_time(event.created_at)}
    return entry_bytes(fields)


def rebuild_tree() -> None:
    """Recompute every tile and the head from the events as they are now: the forger's second step."""
    leaves = [tlog.leaf_hash(entry_of(event)) for event in Event.objects.order_by("seq")]
    frontier = tlog.Frontier()
    tiles: dict[tuple[int, int], bytearray] = {}
    for leaf in leaves:
        tiles.setdefault((0, frontier.size // 256), bytearray()).extend(leaf)
        frontier.append(
            leaf, lambda h, i, v: tiles.setdefault((h // 8, i // 256), bytearray()).extend(v) if h % 8 == 0 else None
        )
    bypass("DELETE FROM audit_tile")
    for (level, index), data in tiles.items():
        bypass("INSERT INTO audit_tile (level, index, hashes) VALUES (%s, %s, %s)", [level, index, bytes(data)])
    bypass(
        "UPDATE audit_treehead SET size = %s, root = %s, frontier = %s",
        [frontier.size, frontier.root().hex(), frontier.packed()],
    )
    assert Tile.objects.filter(level=0).exists() or not leaves
    assert TreeHead.objects.get().size == len(leaves)


def verify_command() -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit_verify", stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()
