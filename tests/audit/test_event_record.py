from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from audit import tlog
from audit.log.entries import EntryEncoder, data_canonical, entry_bytes
from audit.log.tiles import inclusion_proof, leaf_hashes, root_at
from audit.log.verify import log_verify
from audit.models import Event, Tile, TreeHead
from audit.services import Actor, EventInput, event_record, events_record
from tests.support.audit import entry_of, record_bulk

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


def test_events_are_the_leaves_of_a_merkle_tree_kept_in_tiles():
    with transaction.atomic():
        first = event_record(actor=ACTOR, action="thing.made", subject=("thing", 1), data={"after": {"n": 1}})
        event_record(actor=ACTOR, action="thing.changed", subject=("thing", 1), data={"before": {"n": 1}})

    stored = list(Event.objects.order_by("seq"))
    assert [e.seq for e in stored] == [1, 2]
    assert entry_of(stored[0]) == entry_of(first)
    leaves = [tlog.leaf_hash(entry_of(e)) for e in stored]
    assert bytes(Tile.objects.get(level=0, index=0).hashes) == b"".join(leaves)
    head = TreeHead.objects.get()
    assert (head.size, head.root) == (2, tlog.node_hash(*leaves).hex())


def test_a_tree_of_several_tiles_gives_the_same_root_and_proofs_as_its_leaves():
    record_bulk(700)  # two full level-0 tiles and a partial one; a level-1 tile of width 2
    leaves = [tlog.leaf_hash(entry_of(e)) for e in Event.objects.order_by("seq")]
    assert [(t.level, t.index, len(t.hashes) // 32) for t in Tile.objects.order_by("level", "index")] == [
        (0, 0, 256),
        (0, 1, 256),
        (0, 2, 188),
        (1, 0, 2),
    ]
    assert TreeHead.objects.get().root == tlog.tree_root(leaves).hex()
    full = tlog.memory_full_hash(leaves)
    for size in (1, 255, 256, 257, 512, 700):
        assert root_at(size) == tlog.tree_root(leaves[:size])
        for index in (0, size // 2, size - 1):
            assert inclusion_proof(index, size) == tlog.inclusion_path(full, index, size)
    assert leaf_hashes(250, 260) == leaves[250:260]


def test_bulk_events_continue_the_tree_under_one_head_lock():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with transaction.atomic():
        event_record(actor=ACTOR, action="first", subject=("thing", 0))
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        events_record(actor=ACTOR, events=[EventInput("bulk", "thing", str(i), {"i": i}) for i in range(500)])

    head_queries = [q["sql"] for q in queries if "audit_treehead" in q["sql"]]
    assert len(head_queries) == 2  # one locking read, one update: not one per event
    tile_queries = [q["sql"] for q in queries if "audit_tile" in q["sql"]]
    assert len(tile_queries) <= 3  # the partial tile read, one upsert for level 0, one for level 1

    assert Event.objects.count() == 501
    assert log_verify().ok


@pytest.mark.django_db(transaction=True)
def test_event_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        event_record(actor=ACTOR, action="x", subject=("thing", 1))
    assert not Event.objects.exists()


def test_floats_are_refused_decimals_become_strings_and_big_integers_strings():
    with transaction.atomic(), pytest.raises(TypeError, match="float"):
        event_record(actor=ACTOR, action="x", subject=("thing", 1), data={"rate": 0.5})
    with transaction.atomic():
        event = event_record(
            actor=ACTOR, action="x", subject=("thing", 1), data={"rate": Decimal("0.50"), "big": 2**60, "n": 2**53 - 1}
        )
    assert Event.objects.get(seq=event.seq).data == {"rate": "0.50", "big": str(2**60), "n": 2**53 - 1}
    assert log_verify().ok


def test_user_actor_records_name_role_and_id(django_user_model):
    from core.roles import Role
    from tests.support.factories import user_with_role

    user = user_with_role(Role.APPROVER)
    with transaction.atomic():
        event = event_record(actor=user, action="x", subject=("thing", 1))
    assert (event.actor, event.role, event.actor_id) == (user.username, "approver", user.pk)


def test_rolled_back_change_leaves_no_event_no_hash_and_no_gap():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        event_record(actor=ACTOR, action="lost", subject=("thing", 1))
        1 / 0  # noqa: B018 - the change fails after its event was written
    with transaction.atomic():
        event = event_record(actor=ACTOR, action="kept", subject=("thing", 1))
    assert event.seq == 1
    assert list(Event.objects.values_list("action", flat=True)) == ["kept"]
    assert len(Tile.objects.get(level=0, index=0).hashes) == 32


@given(
    data=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(st.characters(exclude_categories=["Cs"])),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.text(st.characters(exclude_categories=["Cs"]), max_size=5), inner, max_size=3)
        ),
        max_leaves=10,
    ),
    actor=st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
    subject_id=st.text(st.characters(exclude_categories=["Cs"]), max_size=10),
    actor_id=st.none() | st.integers(min_value=1, max_value=2**53 - 1),
)
def test_entry_encoder_gives_the_bytes_of_the_reference_rule(data, actor, subject_id, actor_id):
    """The bulk writer's fast entry must equal the canonical entry that verification uses."""
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
    }
    encoder = EntryEncoder(
        created_at=fields["created_at"], actor_id=actor_id, actor=actor, role="approver", request_id="req-1"
    )
    data_json = data_canonical(fields["data"])
    fast = encoder.entry(
        seq=7, action="claim.approve", subject_type="claims.claim", subject_id=subject_id, data_json=data_json
    )
    import json

    assert fast == entry_bytes(fields | {"data": json.loads(data_json)})
