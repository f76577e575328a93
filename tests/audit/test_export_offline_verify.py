"""`audit_export` then `python audit/offline_verify.py`, run as a separate process on real exports.

Each hole a forger could use is a test: no checkpoint, a checkpoint line
removed, the trail cut, the tail rewritten or dropped (unproven; --strict
fails), a line that is not canonical or holds a duplicated key, a replaced
public_key.pem, and malformed input (exit 2, one line, never a traceback).
Where the forger is the operator (who holds the signing key), the manifest
is re-signed with the real key, so detection never rests on the manifest's
digests alone.
"""

import hashlib
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from audit import tlog
from audit.checkpoints import checkpoint_create
from audit.services import event_record
from audit.signing import key_generate, signer, signer_from_pem
from tests.support.audit import ACTOR, record

pytestmark = pytest.mark.django_db
SCRIPT = Path(settings.BASE_DIR) / "audit" / "offline_verify.py"


def verify(*args: str) -> tuple[int, str, str]:
    """Run the verifier as a regulator would: its own process, isolated (-I: the project is not on sys.path)."""
    done = subprocess.run(
        [sys.executable, "-I", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        cwd="/",
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def export(tmp_path: Path, name: str = "export") -> Path:
    directory = tmp_path / name
    call_command("audit_export", str(directory))
    return directory


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def resign(directory: Path, *, key=None, **changes) -> None:
    """The forger's last step: recompute the manifest's digests (and any `changes`) and sign it again."""
    manifest = json.loads((directory / "manifest.json").read_bytes())
    files = {name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in manifest["files"]}
    current = key or signer()
    manifest |= {"files": files, "key_id": current.key_id, **changes}
    del manifest["signature"]
    manifest["signature"] = current.sign(manifest)
    (directory / "manifest.json").write_bytes(tlog.canonical_json(manifest) + b"\n")


def tree_of(directory: Path) -> tuple[int, str]:
    entries = [line.rstrip(b"\n") for line in lines(directory / "events.jsonl")]
    return len(entries), tlog.b64(tlog.tree_root([tlog.leaf_hash(e) for e in entries]))


@pytest.fixture
def trail() -> None:
    """Six events with varied data, a checkpoint of size 4, and one of size 6."""
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


def pem(tmp_path: Path, text: str, name: str = "trusted.pem") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_clean_export_verifies_with_the_trusted_key(trail, tmp_path):
    directory = export(tmp_path)

    code, out, _ = verify(str(directory), "--trusted-key", pem(tmp_path, signer().public_key_pem), "--strict")

    assert code == 0, out
    assert "OK: 6 events" in out
    assert "OK: 2 checkpoints verified; the newest has size 6" in out
    manifest = json.loads((directory / "manifest.json").read_bytes())
    assert manifest["tree_size"] == 6
    assert [c["size"] for c in manifest["checkpoints"]] == [4, 6]
    first = lines(directory / "events.jsonl")[0]
    assert first == tlog.canonical_json(json.loads(first)) + b"\n"
    assert (directory / "public_key.pem").read_text() == signer().public_key_pem


def test_without_a_trusted_key_it_says_whose_word_it_takes(trail, tmp_path):
    code, out, _ = verify(str(export(tmp_path)))
    assert code == 0
    assert f"NOTE: trusting the export's own key {signer().key_id}" in out


def test_no_checkpoint_fails_with_a_trusted_key(tmp_path):
    record(3)
    directory = export(tmp_path)
    code, out, _ = verify(str(directory), "--trusted-key", pem(tmp_path, signer().public_key_pem))
    assert code == 1
    assert "there is no signed checkpoint" in out


def test_a_checkpoint_line_removed_fails(trail, tmp_path):
    directory = export(tmp_path)
    path = directory / "checkpoints.jsonl"
    path.write_bytes(lines(path)[1])  # drop the checkpoint of size 4
    resign(directory, checkpoints=json.loads((directory / "manifest.json").read_bytes())["checkpoints"])

    code, out, _ = verify(str(directory), "--trusted-key", pem(tmp_path, signer().public_key_pem))

    assert code == 1
    assert "the checkpoint of size 4 listed in the manifest is missing from checkpoints.jsonl" in out


def test_the_trail_cut_below_a_checkpoint_fails(trail, tmp_path):
    directory = export(tmp_path)
    path = directory / "events.jsonl"
    path.write_bytes(b"".join(lines(path)[:5]))
    size, root = tree_of(directory)
    resign(directory, tree_size=size, root=root)

    code, out, _ = verify(str(directory))

    assert code == 1
    assert "the trail (5 events) is shorter than the checkpoint of size 6" in out


def test_the_trail_cut_without_resigning_is_caught_by_the_manifest(trail, tmp_path):
    directory = export(tmp_path)
    path = directory / "events.jsonl"
    path.write_bytes(b"".join(lines(path)[:5]))
    code, out, _ = verify(str(directory))
    assert code == 1
    assert "events.jsonl differs from the manifest's SHA-256" in out
    assert "the trail holds 5 events, the manifest says 6: events were removed" in out


def test_events_after_the_newest_checkpoint_are_unproven_and_fail_under_strict(trail, tmp_path):
    record(2)  # events 7 and 8, not yet checkpointed
    directory = export(tmp_path)
    path = directory / "events.jsonl"
    rewritten = json.loads(lines(path)[7])
    rewritten["data"] = {"after": {"n": 999}}
    path.write_bytes(b"".join(lines(path)[:7]) + tlog.canonical_json(rewritten) + b"\n")
    size, root = tree_of(directory)
    resign(directory, tree_size=size, root=root)

    code, out, _ = verify(str(directory))
    assert code == 0
    assert "NOTE: the last 2 event(s) are not yet covered by a signed checkpoint: unproven" in out

    code, out, _ = verify(str(directory), "--strict")
    assert code == 1
    assert "FAIL: the last 2 event(s) are not yet covered by a signed checkpoint: unproven (--strict)" in out


def test_a_tail_dropped_after_the_newest_checkpoint_is_unproven(trail, tmp_path):
    record(2)
    directory = export(tmp_path)
    path = directory / "events.jsonl"
    path.write_bytes(b"".join(lines(path)[:7]))
    size, root = tree_of(directory)
    resign(directory, tree_size=size, root=root)
    code, out, _ = verify(str(directory), "--strict")
    assert code == 1
    assert "the last 1 event(s) are not yet covered by a signed checkpoint" in out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda line: line.replace(b'"action":', b'"action":"x","action":', 1), "duplicate key"),
        (lambda line: line.replace(b'","', b'", "', 1), "not in canonical form"),
        (lambda line: line.replace(b"\xe4\xbd\x90", b"\\u4f50", 1), "not in canonical form"),
        (lambda line: line.replace(b"12345678", b"12345678.0", 1), "not an integer"),
        (lambda line: line.replace(b"12345678", b"12345679", 1), "does not match the events"),
        (lambda line: b"not json\n", "not JSON"),
    ],
)
def test_a_line_that_is_not_its_canonical_encoding_fails(trail, tmp_path, change, message):
    directory = export(tmp_path)
    path = directory / "events.jsonl"
    events = lines(path)
    events[3] = change(events[3])
    path.write_bytes(b"".join(events))
    size, root = tree_of(directory) if message == "does not match the events" else (6, "")
    if root:
        resign(directory, tree_size=size, root=root)
    else:
        resign(directory)

    code, out, _ = verify(str(directory))

    assert code == 1
    assert message in out
    if message != "does not match the events":
        assert "event #4 (events.jsonl line 4) was altered" in out


def test_removed_and_reordered_events_are_named(trail, tmp_path):
    directory = export(tmp_path)
    path = directory / "events.jsonl"
    events = lines(path)
    path.write_bytes(b"".join([events[0], events[2], events[1], *events[3:]]))
    resign(directory)
    code, out, _ = verify(str(directory))
    assert code == 1
    assert "event #2 is missing at events.jsonl line 2 (found #3)" in out


def test_a_replaced_public_key_is_detected(trail, tmp_path):
    directory = export(tmp_path)
    attacker = signer_from_pem(key_generate())
    (directory / "public_key.pem").write_text(attacker.public_key_pem)

    code, out, _ = verify(str(directory))
    assert code == 1
    assert "manifest.json is not signed by public_key.pem" in out

    resign(directory, key=attacker)  # the attacker signs the manifest with the replaced key
    code, out, _ = verify(str(directory), "--trusted-key", pem(tmp_path, signer().public_key_pem))
    assert code == 1
    assert f"public_key.pem ({attacker.key_id[:16]}) is not a key you trust: it was replaced" in out


def test_an_added_key_file_is_detected(trail, tmp_path):
    directory = export(tmp_path)
    attacker = signer_from_pem(key_generate())
    (directory / "keys" / f"{attacker.key_id}.pem").write_text(attacker.public_key_pem)
    code, out, _ = verify(str(directory))
    assert code == 1
    assert "is not in the manifest: a key was added" in out


def test_a_checkpoint_signed_by_another_key_fails(trail, tmp_path):
    directory = export(tmp_path)
    forger = Ed25519PrivateKey.generate()
    path = directory / "checkpoints.jsonl"
    note = json.loads(lines(path)[0])["note"]
    text = note.split("\n\n")[0] + "\n"
    forged = tlog.Note(text, (tlog.note_sign(text, settings.AUDIT_LOG_ORIGIN, forger),)).render()
    path.write_bytes(tlog.canonical_json({"note": forged}) + b"\n" + lines(path)[1])
    resign(directory)
    code, out, _ = verify(str(directory), "--trusted-key", pem(tmp_path, signer().public_key_pem))
    assert code == 1
    assert "checkpoints.jsonl line 1: the checkpoint carries no signature of the log key" in out


def test_rotated_keys_are_exported_and_both_verify(trail, tmp_path, settings):
    old_pem = signer().public_key_pem
    settings.AUDIT_SIGNING_KEY = key_generate().decode()
    record(1)
    checkpoint_create()
    directory = export(tmp_path)
    trusted = [
        "--trusted-key",
        pem(tmp_path, old_pem, "old.pem"),
        "--trusted-key",
        pem(tmp_path, signer().public_key_pem, "new.pem"),
    ]
    code, out, _ = verify(str(directory), *trusted, "--strict")
    assert code == 0, out
    assert len(list((directory / "keys").glob("*.pem"))) == 2


def test_the_empty_log_exports_and_verifies(tmp_path):
    code, out, _ = verify(str(export(tmp_path)))
    assert code == 0, out
    assert "OK: 0 events" in out


def _malformed_cases(tmp_path: Path, directory: Path) -> list[tuple[list[str], str]]:
    junk = tmp_path / "junk.json"
    junk.write_bytes(b"\x00\xff{")
    key = pem(tmp_path, (directory / "public_key.pem").read_text(), "key.pem")
    no_manifest = tmp_path / "no-manifest"
    no_manifest.mkdir()
    return [
        ([str(tmp_path / "nowhere")], "is not a directory"),
        ([str(no_manifest)], "cannot read the manifest"),
        (["--receipt", str(junk), "--key", key], "is not JSON"),
        (["--receipt", str(junk)], "--key"),
        (["--receipt", str(junk), "--key", "not-a-key"], "neither a PEM file nor a verifier key"),
        (["--liabilities", str(tmp_path / "missing.json"), "--key", key], "cannot read"),
        ([str(directory), "--witness", "nonsense"], "not a witness verifier key"),
        ([], "give an export directory"),
        (["--bogus-flag"], "unrecognized arguments"),
    ]


def test_malformed_input_exits_2_with_one_line_and_no_traceback(trail, tmp_path):
    directory = export(tmp_path)
    cases = _malformed_cases(tmp_path, directory)
    for number, (manifest, message) in enumerate(
        [
            (b"{not json", "is not JSON"),
            (b'{"type": "audit.export"}', "not an audit export manifest"),
            (b"[1, 2]", "not an audit export manifest"),
            (b'{"a": 1, "a": 2}', "duplicate key"),
        ]
    ):
        broken = tmp_path / f"broken-{number}"
        broken.mkdir()
        for name in ("events.jsonl", "checkpoints.jsonl", "public_key.pem", "witnesses.txt"):
            (broken / name).write_bytes((directory / name).read_bytes())
        (broken / "manifest.json").write_bytes(manifest)
        cases.append(([str(broken)], message))
    (directory / "public_key.pem").write_text("-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n")
    cases.append(([str(directory)], "public_key.pem"))
    for args, message in cases:
        code, out, err = verify(*args)
        assert code == 2, (args, out, err)
        assert "Traceback" not in out + err, args
        assert message in err, (args, err)
        assert len([line for line in err.splitlines() if line.startswith("ERROR")]) <= 1, err
