"""audit/offline_verify.py restates audit/chain.py; these keep the two in agreement."""

import ast
import sys
from pathlib import Path

from django.conf import settings
from hypothesis import given
from hypothesis import strategies as st

from audit import chain, offline_verify

json_scalars = st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
events = st.fixed_dictionaries(
    {
        "seq": st.integers(1, 10**12),
        "created_at": st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(chain.format_time),
        "actor_id": st.none() | st.integers(1, 10**9),
        "actor": st.text(max_size=30),
        "role": st.sampled_from(["admin", "regulator", "task", "system"]),
        "action": st.text(max_size=30),
        "subject_type": st.text(max_size=20),
        "subject_id": st.text(max_size=20),
        "data": st.dictionaries(st.text(max_size=8), json_values, max_size=5),
        "request_id": st.text(max_size=20),
        "prev_hash": st.text("0123456789abcdef", min_size=64, max_size=64),
    }
)


def test_same_constants():
    assert offline_verify.HASHED_FIELDS == chain.HASHED_FIELDS
    assert offline_verify.GENESIS_HASH == chain.GENESIS_HASH
    assert offline_verify.RECEIPT_ACTION == chain.RECEIPT_ACTION


@given(events)
def test_same_event_hash_and_canonical_json(event):
    event["data"] = chain.normalise_data(event["data"])
    assert offline_verify.canonical_json(event) == chain.canonical_json(event)
    assert offline_verify.event_hash(event) == chain.event_hash(event)


@given(st.integers(1, 10**12), st.text("0123456789abcdef", min_size=64, max_size=64))
def test_same_checkpoint_document(seq, digest):
    fields = {"seq": seq, "hash": digest, "signed_at": "2026-01-01T00:00:00.000000Z", "key_id": "k"}
    assert offline_verify.checkpoint_document(fields | {"signature": "s"}) == chain.checkpoint_document(**fields)


def test_imports_only_the_standard_library_and_cryptography():
    tree = ast.parse((Path(settings.BASE_DIR) / "audit" / "offline_verify.py").read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add((node.module or "").split(".")[0])
    assert roots - set(sys.stdlib_module_names) == {"cryptography"}
