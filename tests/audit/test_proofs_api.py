"""Proofs over HTTP: public what witnesses and receipt holders need, regulator-only the rest; each proof checks."""

import pytest

from audit import tlog
from audit.checkpoints import checkpoint_create
from audit.log.entries import entry_bytes
from audit.log.tiles import root_at
from core.roles import Role
from tests.support.audit import record, record_bulk

pytestmark = pytest.mark.django_db
REGULATOR_PATHS = [
    "/api/regulator/audit/log/inclusion/?seq=2&size=5",
    "/api/regulator/audit/log/consistency/?from=2&to=5",
    "/api/regulator/audit/witnesses/",
]


def _hashes(values: list[str]) -> list[bytes]:
    return [tlog.unb64(v, "hash") for v in values]


def test_the_newest_checkpoint_and_one_by_size_are_public_signed_notes(api):
    assert api.get("/api/audit/log/checkpoint").status_code == 404
    record(3)
    first = checkpoint_create()
    record(2)
    second = checkpoint_create()

    newest = api.get("/api/audit/log/checkpoint")
    older = api.get(f"/api/audit/log/checkpoints/{first.size}")

    assert newest.status_code == 200 and newest["Content-Type"].startswith("text/plain")
    assert newest.content.decode() == second.note
    assert older.content.decode() == first.note
    assert api.get("/api/audit/log/checkpoints/4").status_code == 404


def test_public_consistency_between_checkpoints_verifies(api):
    record(3)
    first = checkpoint_create()
    record_bulk(300)
    second = checkpoint_create()

    body = api.get("/api/audit/log/consistency/", {"from": first.size, "to": second.size}).json()

    tlog.consistency_verify(
        first.size, second.size, bytes.fromhex(first.root), bytes.fromhex(second.root), _hashes(body["proof"])
    )
    assert api.get("/api/audit/log/consistency/", {"from": 0, "to": second.size}).json()["proof"] == []
    assert api.get("/api/audit/log/consistency/", {"from": 2, "to": second.size}).status_code == 404  # not signed
    for bad in ({"from": "x", "to": 3}, {"from": -1, "to": 3}, {"to": 3}, {"from": 3, "to": 2}):
        response = api.get("/api/audit/log/consistency/", bad)
        assert response.status_code in (400, 404), bad
        assert "error" in response.json()


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (None, 401),
        (Role.CUSTOMER, 403),
        (Role.REVIEWER, 403),
        (Role.APPROVER, 403),
        (Role.REGULATOR, 200),
        (Role.ADMIN, 200),
    ],
)
def test_regulator_proof_endpoints_by_role(api, api_as, role, status):
    record(6)
    client = api if role is None else api_as(role)
    for path in REGULATOR_PATHS:
        response = client.get(path)
        assert response.status_code in ((401, 403) if status == 401 else (status,)), (path, response.status_code)


def test_inclusion_of_any_event_in_any_size_verifies(api_as):
    record_bulk(700)
    client = api_as(Role.REGULATOR)
    for seq, size in ((1, 1), (2, 5), (256, 300), (300, 700), (700, 700)):
        body = client.get("/api/regulator/audit/log/inclusion/", {"seq": seq, "size": size}).json()
        leaf = tlog.leaf_hash(entry_bytes(body["event"]))
        assert body["event"]["seq"] == seq
        assert tlog.root_from_inclusion(seq - 1, size, leaf, _hashes(body["inclusion"])) == root_at(size)
    for bad in ({"seq": 0, "size": 5}, {"seq": 6, "size": 5}, {"seq": 1, "size": 10**6}, {"seq": "a"}):
        assert client.get("/api/regulator/audit/log/inclusion/", bad).status_code == 400, bad


def test_consistency_between_any_sizes_for_regulators(api_as):
    record_bulk(600)
    client = api_as(Role.REGULATOR)
    for old, new in ((1, 2), (5, 600), (256, 512), (300, 301)):
        body = client.get("/api/regulator/audit/log/consistency/", {"from": old, "to": new}).json()
        tlog.consistency_verify(old, new, root_at(old), root_at(new), _hashes(body["proof"]))
    assert client.get("/api/regulator/audit/log/consistency/", {"from": 5, "to": 10**6}).status_code == 400
