from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from audit.chain import GENESIS_HASH, event_hash, format_time
from audit.models import ChainHead, Event
from audit.selectors import chain_verify
from audit.services import Actor, EventInput, event_record, events_record

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


def _fields(event: Event) -> dict:
    return {
        "seq": event.seq,
        "created_at": format_time(event.created_at),
        "actor_id": event.actor_id,
        "actor": event.actor,
        "role": event.role,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "data": event.data,
        "request_id": event.request_id,
        "prev_hash": event.prev_hash,
    }


def test_events_link_into_a_gapless_hash_chain():
    with transaction.atomic():
        first = event_record(actor=ACTOR, action="thing.made", subject=("thing", 1), data={"after": {"n": 1}})
        second = event_record(actor=ACTOR, action="thing.changed", subject=("thing", 1), data={"before": {"n": 1}})

    stored = list(Event.objects.order_by("seq"))
    assert [e.seq for e in stored] == [1, 2]
    assert stored[0].prev_hash == GENESIS_HASH
    assert stored[1].prev_hash == stored[0].hash == first.hash
    assert all(event_hash(_fields(e)) == e.hash for e in stored)
    head = ChainHead.objects.get()
    assert (head.seq, head.hash) == (2, second.hash)


def test_bulk_events_continue_the_chain_under_one_head_lock():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with transaction.atomic():
        event_record(actor=ACTOR, action="first", subject=("thing", 0))
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        events_record(actor=ACTOR, events=[EventInput("bulk", "thing", str(i), {"i": i}) for i in range(500)])

    head_queries = [q["sql"] for q in queries if "audit_chainhead" in q["sql"]]
    assert len(head_queries) == 2  # one locking read, one update: not one per event

    assert Event.objects.count() == 501
    assert chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_event_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        event_record(actor=ACTOR, action="x", subject=("thing", 1))
    assert not Event.objects.exists()


def test_floats_are_refused_and_decimals_become_strings():
    with transaction.atomic(), pytest.raises(TypeError, match="float"):
        event_record(actor=ACTOR, action="x", subject=("thing", 1), data={"rate": 0.5})
    with transaction.atomic():
        event = event_record(actor=ACTOR, action="x", subject=("thing", 1), data={"rate": Decimal("0.50")})
    assert Event.objects.get(seq=event.seq).data == {"rate": "0.50"}


def test_user_actor_records_name_role_and_id(django_user_model):
    from core.roles import Role
    from tests.support.factories import user_with_role

    user = user_with_role(Role.APPROVER)
    with transaction.atomic():
        event = event_record(actor=user, action="x", subject=("thing", 1))
    assert (event.actor, event.role, event.actor_id) == (user.username, "approver", user.pk)


def test_rolled_back_change_leaves_no_event_and_no_gap():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        event_record(actor=ACTOR, action="lost", subject=("thing", 1))
        1 / 0  # noqa: B018 - the change fails after its event was written
    with transaction.atomic():
        event = event_record(actor=ACTOR, action="kept", subject=("thing", 1))
    assert event.seq == 1
    assert list(Event.objects.values_list("action", flat=True)) == ["kept"]


@given(
    data=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=10,
    ),
    actor=st.text(max_size=20),
    subject_id=st.text(max_size=10),
    actor_id=st.none() | st.integers(min_value=1),
)
def test_batch_hasher_gives_the_same_hash_as_event_hash(data, actor, subject_id, actor_id):
    """The bulk writer's fast hash must equal the reference rule that verification uses."""
    from audit.chain import BatchHasher, data_canonical

    fields = {
        "seq": 7,
        "created_at": "2026-11-24T12:00:00.000001Z",
        "actor_id": actor_id,
        "actor": actor,
        "role": "approver",
        "action": "claim.approve",
        "subject_type": "claims.claim",
        "subject_id": subject_id,
        "data": {"value": data},
        "request_id": "req-1",
        "prev_hash": "a" * 64,
    }
    hasher = BatchHasher(
        created_at=fields["created_at"], actor_id=actor_id, actor=actor, role="approver", request_id="req-1"
    )
    fast = hasher.hash(
        seq=7,
        action="claim.approve",
        subject_type="claims.claim",
        subject_id=subject_id,
        data_json=data_canonical(fields["data"]),
        prev_hash="a" * 64,
    )
    assert fast == event_hash(fields)
