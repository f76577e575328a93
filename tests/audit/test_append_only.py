"""PostgreSQL itself refuses to change or remove audit records (not only the application)."""

import pytest
from django.db import IntegrityError, connection, transaction

from audit.checkpoints import checkpoint_create
from audit.models import Checkpoint, Event, Tile, TreeHead
from audit.services import Actor, event_record

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def events() -> None:
    with transaction.atomic():
        for i in range(3):
            event_record(actor=Actor.system("tests"), action="x", subject=("thing", i))


def test_orm_update_is_refused(events):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Event.objects.filter(seq=2).update(action="forged")
    assert Event.objects.get(seq=2).action == "x"


def test_raw_update_is_refused(events):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_event SET data = '{}'::jsonb WHERE seq = 1")


def test_delete_is_refused(events):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Event.objects.filter(seq=3).delete()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_event")
    assert Event.objects.count() == 3


def test_head_cannot_shrink_or_point_nowhere(events):
    with pytest.raises(IntegrityError, match="cannot shrink"), transaction.atomic():
        TreeHead.objects.filter(pk=1).update(size=1)
    with pytest.raises(IntegrityError, match="existing event"), transaction.atomic():
        TreeHead.objects.filter(pk=1).update(size=4)
    with pytest.raises(IntegrityError, match="cannot be deleted"), transaction.atomic():
        TreeHead.objects.all().delete()


def test_a_tile_only_grows(events):
    tile = Tile.objects.get(level=0, index=0)
    assert len(tile.hashes) == 3 * 32
    rewritten = b"\0" * 32 + bytes(tile.hashes)[32:]
    with pytest.raises(IntegrityError, match="may only have hashes appended"), transaction.atomic():
        Tile.objects.filter(level=0, index=0).update(hashes=rewritten)
    with pytest.raises(IntegrityError, match="may only have hashes appended"), transaction.atomic():
        Tile.objects.filter(level=0, index=0).update(hashes=bytes(tile.hashes)[:64])
    with pytest.raises(IntegrityError, match="cannot be deleted"), transaction.atomic():
        Tile.objects.all().delete()
    with pytest.raises(IntegrityError, match="whole_hashes"), transaction.atomic():
        Tile.objects.filter(level=0, index=0).update(hashes=bytes(tile.hashes) + b"x")
    with transaction.atomic():  # what the writer does: append whole hashes
        Tile.objects.filter(level=0, index=0).update(hashes=bytes(tile.hashes) + b"\1" * 32)


def test_checkpoints_are_append_only(events):
    checkpoint_create()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Checkpoint.objects.update(root="f" * 64)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Checkpoint.objects.all().delete()
