"""Small builders for the audit tests."""

from django.db import connection, transaction

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
