"""`audit_export` then `python audit/offline_verify.py`, run as a separate process on real exports."""

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from audit import offline_verify
from audit.services import checkpoint_create, event_record, receipt_issue
from audit.signing import key_generate, signer
from tests.support.audit import ACTOR, bypass, record

pytestmark = pytest.mark.django_db
SCRIPT = Path(settings.BASE_DIR) / "audit" / "offline_verify.py"


def verify(directory: Path, *extra: str) -> tuple[int, str]:
    """Run the verifier as a regulator would: its own process, isolated (-I: no project on sys.path)."""
    done = subprocess.run(
        [sys.executable, "-I", str(SCRIPT), str(directory), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        cwd="/",
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def export(tmp_path: Path, name: str = "export") -> Path:
    directory = tmp_path / name
    call_command("audit_export", str(directory))
    return directory


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


@pytest.fixture
def trail() -> None:
    """Six events with varied data, a checkpoint at #4, and one at the head #6."""
    record(3)
    with transaction.atomic():
        event_record(
            actor=ACTOR,
            action="claim.approved",
            subject=("claims.claim", "C-1"),
            data={"amount_jpy": 12_345_678, "rate": Decimal("0.8125"), "name": "佐藤 陽翔", "tags": ["a", "b"]},
        )
    checkpoint_create()
    record(2)
    checkpoint_create()


def test_clean_export_verifies(trail, tmp_path):
    directory = export(tmp_path)

    code, out = verify(directory)

    assert code == 0, out
    assert "OK: 6 events, head #6" in out
    assert "OK: 2 checkpoints verified; latest #6" in out
    first = json.loads(lines(directory / "events.jsonl")[0])
    assert set(first) == {*offline_verify.HASHED_FIELDS, "hash"}
    assert (directory / "public_key.pem").read_text() == signer().public_key_pem
    assert len(lines(directory / "checkpoints.jsonl")) == 2


def test_export_writes_one_canonical_event_per_line(trail, tmp_path):
    directory = export(tmp_path)
    events = lines(directory / "events.jsonl")
    assert len(events) == 6
    for line in events:
        event = json.loads(line)
        assert offline_verify.canonical_json(event).decode() + "\n" == line
    assert "佐藤 陽翔" in events[3]  # UTF-8, not \u escapes


def test_altered_event_is_named(trail, tmp_path):
    directory = export(tmp_path)
    events = lines(directory / "events.jsonl")
    events[2] = events[2].replace('"n":2', '"n":999')
    (directory / "events.jsonl").write_text("".join(events), encoding="utf-8")

    code, out = verify(directory)

    assert code == 1
    assert "FAIL: event #3 (line 3) was altered" in out


def test_removed_event_is_named(trail, tmp_path):
    directory = export(tmp_path)
    events = lines(directory / "events.jsonl")
    del events[1]
    (directory / "events.jsonl").write_text("".join(events), encoding="utf-8")

    code, out = verify(directory)

    assert code == 1
    assert "FAIL: event #2 is missing at line 2 (removed or reordered): found #3" in out


def test_reordered_events_are_named(trail, tmp_path):
    directory = export(tmp_path)
    events = lines(directory / "events.jsonl")
    events[3], events[4] = events[4], events[3]
    (directory / "events.jsonl").write_text("".join(events), encoding="utf-8")

    code, out = verify(directory)

    assert code == 1
    assert "FAIL: event #4 is missing at line 4" in out


def test_events_cut_from_the_end_are_caught_by_a_checkpoint(trail, tmp_path):
    directory = export(tmp_path)
    events = lines(directory / "events.jsonl")
    (directory / "events.jsonl").write_text("".join(events[:-2]), encoding="utf-8")

    code, out = verify(directory)

    assert code == 1
    assert "checkpoint #6 names an event beyond the last one exported (#4): events #5..#6 were removed" in out


def test_rewritten_and_rehashed_trail_is_caught_by_the_signed_checkpoints(trail, tmp_path):
    """An attacker alters event 5 and recomputes every hash after it: the chain links, the signatures do not."""
    directory = export(tmp_path)
    events = [json.loads(line) for line in lines(directory / "events.jsonl")]
    events[4]["data"] = {"after": {"n": 0, "forged": True}}
    for i in range(4, len(events)):
        events[i]["prev_hash"] = events[i - 1]["hash"]
        events[i]["hash"] = offline_verify.event_hash(events[i])
    (directory / "events.jsonl").write_bytes(b"".join(offline_verify.canonical_json(e) + b"\n" for e in events))

    code, out = verify(directory)

    assert code == 1
    assert "checkpoint #6 does not match event #6: the trail was rewritten between event #5 and event #6" in out


def test_bad_checkpoint_signature_is_reported(trail, tmp_path):
    directory = export(tmp_path)
    checkpoints = [json.loads(line) for line in lines(directory / "checkpoints.jsonl")]
    checkpoints[0]["hash"] = "0" * 64
    (directory / "checkpoints.jsonl").write_text("".join(json.dumps(c) + "\n" for c in checkpoints))

    code, out = verify(directory)

    assert code == 1
    assert "FAIL: checkpoint #4 (checkpoints.jsonl line 1) has a bad signature" in out


def test_a_key_the_regulator_does_not_trust_fails(trail, tmp_path):
    directory = export(tmp_path)
    other = tmp_path / "other.pem"
    from audit.signing import signer_from_pem

    other.write_text(signer_from_pem(key_generate()).public_key_pem)

    assert verify(directory, "--trusted-key", str(directory / "public_key.pem"))[0] == 0
    code, out = verify(directory, "--trusted-key", str(other))
    assert code == 1
    assert "is signed by an unknown key" in out


def test_rotated_keys_are_exported_and_both_verify(trail, tmp_path, settings):
    settings.AUDIT_SIGNING_KEY = key_generate().decode()
    record(1)
    checkpoint_create()
    directory = export(tmp_path)

    code, out = verify(directory)

    assert code == 0, out
    assert len(list((directory / "keys").glob("*.pem"))) == 2
    assert "OK: 3 checkpoints verified; latest #7" in out


def test_trail_tampered_in_the_database_fails_offline(trail, tmp_path):
    bypass("UPDATE audit_event SET actor = 'someone-else' WHERE seq = 2")
    directory = export(tmp_path)

    code, out = verify(directory)

    assert code == 1
    assert "FAIL: event #2 (line 2) was altered" in out


def test_receipt_verifies_offline_against_the_export(trail, tmp_path):
    with transaction.atomic():
        receipt = receipt_issue(actor=ACTOR, subject=("reserves.payout", 7), payload={"amount_jpy": 1000})
    checkpoint_create()
    directory = export(tmp_path)
    good, forged = tmp_path / "receipt.json", tmp_path / "forged.json"
    good.write_text(json.dumps(receipt.document))
    forged.write_text(json.dumps(receipt.document | {"payload": {"amount_jpy": 1_000_000}}))

    code, out = verify(directory, "--receipt", str(good))
    assert code == 0, out
    assert f"receipt {receipt.id} is signed and recorded as event #{receipt.event_id}" in out
    code, out = verify(directory, "--receipt", str(forged))
    assert code == 1
    assert "signature does not verify" in out


def test_empty_trail_exports_and_verifies(tmp_path):
    directory = export(tmp_path)
    code, out = verify(directory)
    assert code == 0, out
    assert "OK: 0 events" in out


def test_missing_directory_is_exit_2(tmp_path):
    code, out = verify(tmp_path / "nothing")
    assert code == 2
    assert "not found" in out
