"""Regulators' reads are recorded without the trail's head lock: staged, then drained into the log in batches."""

import threading

import pytest
from celery import current_app
from django.db import connection, transaction
from django.test import Client

from audit.log.append import head_lock, tree_head
from audit.log.verify import log_verify
from audit.models import Event, StagedEvent
from audit.services import Actor, event_stage, staged_events_drain
from core.roles import Role
from tests.support.audit import record
from tests.support.factories import PASSWORD, user_with_role


@pytest.fixture
def queued_not_run():
    """Tasks queued to the broker instead of run in-process, as in production (nothing drains on its own)."""
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        yield
    finally:
        current_app.conf.task_always_eager = eager


def _regulator_client() -> tuple[Client, object]:
    user = user_with_role(Role.REGULATOR)
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client, user


@pytest.mark.django_db
def test_a_read_is_staged_then_drained_into_the_log_with_who_what_and_request(queued_not_run):
    record(2)
    client, user = _regulator_client()
    size_before = tree_head()[0]

    response = client.get("/api/regulator/audit/checkpoints/", {"page": "1"})

    assert response.status_code == 200
    assert tree_head()[0] == size_before  # nothing appended yet: the read did not touch the head
    staged = StagedEvent.objects.get()
    assert (staged.action, staged.actor, staged.role) == ("regulator.viewed", user.username, "regulator")

    assert staged_events_drain() == 1

    event = Event.objects.get(action="regulator.viewed")
    assert event.seq == size_before + 1 == tree_head()[0]
    assert event.data == {
        "method": "GET",
        "path": "/api/regulator/audit/checkpoints/",
        "query": "page=1",
        "status": 200,
    }
    assert event.actor_id == user.pk and event.role == "regulator"
    assert event.request_id == response["X-Request-ID"]
    assert not StagedEvent.objects.exists()
    assert log_verify().ok


@pytest.mark.django_db
def test_drain_appends_in_staging_order_in_batches_and_the_log_verifies():
    record(3)
    first = tree_head()[0]
    with transaction.atomic():
        for i in range(12):
            event_stage(actor=Actor.system("bench"), action="test.staged", subject=("page", str(i)), data={"i": i})

    assert staged_events_drain(batch=5) == 12

    events = list(Event.objects.filter(action="test.staged").order_by("seq"))
    assert [e.seq for e in events] == list(range(first + 1, first + 13))
    assert [e.data["i"] for e in events] == list(range(12))
    assert staged_events_drain() == 0
    assert log_verify().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_readers_are_served_while_a_writer_holds_the_head_lock(queued_not_run):
    """Before: every read wrote its event under the head lock, so a long writer (a bulk approval) held every
    regulator's page; now the read is served and staged while the lock is held, and drained after."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    record(1)
    client, _user = _regulator_client()
    locked, release = threading.Event(), threading.Event()

    def writer() -> None:
        try:
            with transaction.atomic():
                head_lock()
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert locked.wait(10)
        served: list[int] = []
        reader = threading.Thread(
            target=lambda: (
                served.append(client.get("/api/regulator/audit/checkpoints/").status_code),
                connection.close(),
            )
        )
        reader.start()
        reader.join(10)
        assert served == [200], "the read waited for the head lock"
        assert StagedEvent.objects.count() == 1
    finally:
        release.set()
        thread.join(30)
    assert staged_events_drain() == 1
    assert Event.objects.filter(action="regulator.viewed").count() == 1
    assert log_verify().ok
