"""PostgreSQL itself refuses to change or remove audit events (not only the application)."""

import pytest
from django.db import IntegrityError, connection, transaction

from audit.models import ChainHead, Event
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


def test_head_cannot_move_back_or_point_nowhere(events):
    with pytest.raises(IntegrityError, match="move back"), transaction.atomic():
        ChainHead.objects.filter(pk=1).update(seq=1)
    with pytest.raises(IntegrityError, match="existing event"), transaction.atomic():
        ChainHead.objects.filter(pk=1).update(seq=3, hash="f" * 64)
    with pytest.raises(IntegrityError, match="cannot be deleted"), transaction.atomic():
        ChainHead.objects.all().delete()
