"""The standalone witness (audit/witness.py) as its own process against the live test server.

It cosigns checkpoints that extend what it saw; when the operator rewrites
history in the database and re-signs with the log key, the witness refuses,
and the offline verifier given the witness key fails.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone, translation

from audit import tlog
from audit.checkpoints import checkpoint_create, checkpoint_note, cosignatures_add, witness_add
from audit.log.tiles import root_at
from audit.models import Checkpoint, Cosignature, SigningKey
from audit.signing import signer
from core.errors import ApplicationError
from tests.audit.test_export_offline_verify import resign, verify
from tests.support.audit import ACTOR, bypass, rebuild_tree, record

SCRIPT = Path(settings.BASE_DIR) / "audit" / "witness.py"
NAME = "fsa.example/witness"


def witness(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        cwd="/",
        check=False,
    )


@pytest.fixture
def registered(tmp_path) -> dict:
    key = tmp_path / "witness.pem"
    made = witness("keygen", "--name", NAME, "--out", str(key))
    assert made.returncode == 0, made.stderr
    vkey = made.stdout.strip()
    witness_add(actor=ACTOR, vkey=vkey)
    log_vkey = signer().verifier().vkey()
    return {"key": str(key), "vkey": vkey, "log_vkey": log_vkey, "state": str(tmp_path / "state.json")}


def run(live_server, registered) -> subprocess.CompletedProcess:
    return witness(
        "run",
        "--url",
        live_server.url,
        "--key",
        registered["key"],
        "--name",
        NAME,
        "--log-key",
        registered["log_vkey"],
        "--state",
        registered["state"],
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_witness_cosigns_consistent_checkpoints_and_refuses_a_rewritten_history(live_server, registered, tmp_path):
    record(5)
    first = checkpoint_create()
    done = run(live_server, registered)
    assert done.returncode == 0, done.stderr
    assert f"COSIGNED: {settings.AUDIT_LOG_ORIGIN} size {first.size}" in done.stdout
    cosignature = Cosignature.objects.get()
    assert (cosignature.checkpoint_id, cosignature.witness.name, cosignature.checked_from_size) == (first.id, NAME, 0)

    record(3)
    second = checkpoint_create()
    assert second.size == 9  # the witness's registration is event #1
    done = run(live_server, registered)
    assert done.returncode == 0, done.stderr
    assert Cosignature.objects.get(checkpoint=second).checked_from_size == first.size
    assert json.loads(Path(registered["state"]).read_text())["size"] == second.size
    witnessed = Path(registered["state"]).read_text()

    # The operator rewrites event #2, recomputes every tile and the head, appends and re-signs with the log key.
    bypass("UPDATE audit_event SET data = %s WHERE seq = 2", ['{"after": {"n": 4242}}'])
    rebuild_tree()
    record(2)
    text = tlog.Checkpoint(settings.AUDIT_LOG_ORIGIN, 11, root_at(11)).text()
    forged = Checkpoint.objects.create(
        size=11,
        root=root_at(11).hex(),
        origin=settings.AUDIT_LOG_ORIGIN,
        note=signer().sign_note(text),
        signed_at=timezone.now(),
        key=SigningKey.objects.get(),
    )

    done = run(live_server, registered)

    assert done.returncode == 3, done.stdout + done.stderr
    assert f"REFUSED: the checkpoint of size 11 is not consistent with the one of size {second.size}" in done.stderr
    assert "evidence that the log's history was rewritten" in done.stderr
    assert Path(registered["state"]).read_text() == witnessed  # it still remembers the true history
    assert not Cosignature.objects.filter(checkpoint=forged).exists()

    directory = tmp_path / "export"
    call_command("audit_export", str(directory))
    code, out, _ = verify(str(directory), "--witness", registered["vkey"])
    assert code == 1
    assert f"the checkpoint of size {second.size} does not match the events: the trail was rewritten" in out

    # The forger also drops the checkpoints the witness cosigned from the export and re-signs the manifest.
    lines = (directory / "checkpoints.jsonl").read_bytes().splitlines(keepends=True)
    kept = [line for line in lines if json.loads(line)["note"].split("\n")[1] == "11"]
    (directory / "checkpoints.jsonl").write_bytes(b"".join(kept))
    resign(directory, checkpoints=[{"size": 11, "root": tlog.b64(root_at(11))}])
    code, out, _ = verify(str(directory))
    assert code == 0, out  # without the witness key the forgery is self-consistent...
    code, out, _ = verify(str(directory), "--witness", registered["vkey"])
    assert code == 1  # ...with it, it is not
    assert f"no checkpoint carries a cosignature of the witness {NAME}" in out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_witness_refuses_a_log_that_went_back_and_a_bad_log_signature(live_server, registered):
    record(3)
    checkpoint_create()
    Path(registered["state"]).write_text(
        json.dumps({"origin": settings.AUDIT_LOG_ORIGIN, "size": 9, "root": tlog.b64(b"\0" * 32), "note": "x\n"})
    )
    done = run(live_server, registered)
    assert done.returncode == 3
    assert "went back from 9 to 4" in done.stderr

    other = tlog.Verifier(settings.AUDIT_LOG_ORIGIN, tlog.SIG_ED25519, Ed25519PrivateKey.generate().public_key())
    done = run(live_server, registered | {"log_vkey": other.vkey()})
    assert done.returncode == 2
    assert "no signature of the log key" in done.stderr


@pytest.mark.django_db
def test_cosignatures_are_checked_before_they_are_stored(api):
    key = Ed25519PrivateKey.generate()
    verifier = tlog.Verifier(NAME, tlog.SIG_COSIGNATURE_V1, key.public_key())
    record(2)
    checkpoint = checkpoint_create()
    text = tlog.note_parse(checkpoint.note).text
    line = tlog.cosign(text, NAME, key, int(time.time())).line()

    assert api.post("/api/audit/log/cosignatures/", {"note": checkpoint.note + line}, format="json").status_code == 422
    witness_add(actor=ACTOR, vkey=verifier.vkey())
    good = api.post("/api/audit/log/cosignatures/", {"note": checkpoint.note + line}, format="json")
    again = api.post("/api/audit/log/cosignatures/", {"note": checkpoint.note + line}, format="json")
    assert (good.status_code, good.json()) == (201, {"size": 2, "witnesses": [NAME]})
    assert again.status_code == 201 and Cosignature.objects.count() == 1
    assert checkpoint_note(checkpoint) == checkpoint.note + line

    tampered = tlog.cosign(text.replace("\n2\n", "\n3\n"), NAME, key, int(time.time()))
    bad = api.post("/api/audit/log/cosignatures/", {"note": checkpoint.note + tampered.line()}, format="json")
    assert bad.status_code == 422 and bad.json()["error"] == "bad_cosignature"
    future = tlog.cosign(text, NAME, key, int(time.time()) + 7200).line()
    with translation.override("en"), pytest.raises(ApplicationError, match="future"):
        cosignatures_add(note=checkpoint.note + future)
    unknown = checkpoint.note.replace("\n2\n", "\n1\n") + line
    assert api.post("/api/audit/log/cosignatures/", {"note": unknown}, format="json").status_code == 404
    for body in ({"note": ""}, {"note": "garbage"}, [1], {"x": 1}):
        assert api.post("/api/audit/log/cosignatures/", body, format="json").status_code in (400, 404)


@pytest.mark.django_db
def test_a_witness_key_is_registered_once_and_must_be_a_cosignature_key():
    log_key = tlog.Verifier(NAME, tlog.SIG_ED25519, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(ApplicationError, match="0x04"):
        witness_add(actor=ACTOR, vkey=log_key.vkey())
    with translation.override("en"), pytest.raises(ApplicationError, match="Not a witness"):
        witness_add(actor=ACTOR, vkey="nonsense")
    good = tlog.Verifier(NAME, tlog.SIG_COSIGNATURE_V1, Ed25519PrivateKey.generate().public_key())
    witness_add(actor=ACTOR, vkey=good.vkey())
    with translation.override("en"), pytest.raises(ApplicationError, match="registered"):
        witness_add(actor=ACTOR, vkey=good.vkey())
