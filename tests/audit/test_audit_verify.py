import pytest
from django.core.management import call_command
from django.db import connection, transaction

from audit.models import ChainHead, Event
from audit.services import Actor, event_record

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


def _record(n: int) -> None:
    with transaction.atomic():
        for i in range(n):
            event_record(actor=ACTOR, action="thing.changed", subject=("thing", i), data={"after": {"n": i}})


def _bypass(sql: str, params: list) -> None:
    """Change the trail behind the application's back, as an attacker with SQL access would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Superuser only: makes ordinary triggers (our append-only guard) not fire.
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def _verify() -> tuple[int, str, str]:
    import io

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit_verify", stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_intact_chain_verifies():
    _record(5)
    code, out, _ = _verify()
    assert code == 0
    assert "OK: 5 events" in out


def test_altered_event_is_named_by_sequence_number():
    _record(5)
    _bypass("UPDATE audit_event SET data = %s WHERE seq = 3", ['{"after": {"n": 999}}'])

    code, _, err = _verify()

    assert code == 1
    assert "BROKEN at sequence 3" in err
    assert "altered" in err


def test_removed_event_is_found():
    _record(5)
    _bypass("DELETE FROM audit_event WHERE seq = 2", [])

    code, _, err = _verify()

    assert code == 1
    assert "BROKEN at sequence 2" in err


def test_removed_last_event_is_found_through_the_head():
    _record(4)
    _bypass("DELETE FROM audit_event WHERE seq = 4", [])

    code, _, err = _verify()

    assert code == 1
    assert "BROKEN at sequence 4" in err
    assert ChainHead.objects.get().seq == 4


def test_recomputed_rehash_of_one_event_still_breaks_the_next_link():
    _record(3)
    event = Event.objects.get(seq=2)
    from audit.chain import event_hash, format_time

    forged = {
        f: getattr(event, f) for f in ("seq", "actor_id", "actor", "role", "action", "subject_type", "subject_id")
    }
    forged |= {"created_at": format_time(event.created_at), "data": {"after": {"n": 42}}}
    forged |= {"request_id": event.request_id, "prev_hash": event.prev_hash}
    _bypass("UPDATE audit_event SET data = %s, hash = %s WHERE seq = 2", ['{"after": {"n": 42}}', event_hash(forged)])

    code, _, err = _verify()

    assert code == 1
    assert "BROKEN at sequence 3" in err
