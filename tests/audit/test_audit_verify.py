"""`audit_verify` recomputes the tree from the events and names what was changed behind the application."""

import pytest

from audit.checkpoints import checkpoint_create
from audit.models import TreeHead
from tests.support.audit import bypass, rebuild_tree, record, verify_command

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_intact_log_verifies():
    record(5)
    checkpoint_create()
    code, out, _ = verify_command()
    assert code == 0
    assert "OK: 5 events, tree size 5" in out
    assert "OK: 1 signed checkpoints" in out


def test_altered_event_is_named_by_sequence_number():
    record(5)
    bypass("UPDATE audit_event SET data = %s WHERE seq = 3", ['{"after": {"n": 999}}'])

    code, _, err = verify_command()

    assert code == 1
    assert "BROKEN at sequence 3" in err
    assert "altered" in err


def test_removed_event_is_found():
    record(5)
    bypass("DELETE FROM audit_event WHERE seq = 2")

    code, _, err = verify_command()

    assert code == 1
    assert "BROKEN at sequence 2" in err


def test_removed_last_event_is_found_through_the_head():
    record(4)
    bypass("DELETE FROM audit_event WHERE seq = 4")

    code, _, err = verify_command()

    assert code == 1
    assert "BROKEN at sequence 4" in err
    assert TreeHead.objects.get().size == 4


def test_rewritten_event_with_rebuilt_tiles_no_longer_matches_the_checkpoint():
    """The forger rewrites an event and recomputes every tile and the head: only the signature catches it."""
    record(4)
    checkpoint_create()
    bypass("UPDATE audit_event SET data = %s WHERE seq = 2", ['{"after": {"n": 42}}'])
    rebuild_tree()

    code, _, err = verify_command()

    assert code == 1
    assert "checkpoint of size 4 does not match the events: the trail was rewritten" in err


def test_tiles_altered_above_the_leaves_are_found():
    record(300)  # one full level-0 tile, so a level-1 tile exists
    bypass("UPDATE audit_tile SET hashes = %s WHERE level = 1", [b"\1" * 32])

    code, _, err = verify_command()

    assert code == 1
    assert "tiles above level 0 do not match" in err
