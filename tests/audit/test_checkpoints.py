"""Signed checkpoints of the tree head (C2SP signed notes): created, skipped, rotated, refused."""

import base64
import hashlib
import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction

from audit import tlog
from audit.checkpoints import ChainBroken, checkpoint_create
from audit.models import Checkpoint, SigningKey, TreeHead
from audit.signing import SigningKeyMissing, key_generate
from audit.tasks import audit_checkpoint_sign
from tests.support.audit import bypass, record

pytestmark = pytest.mark.django_db


def _opened(checkpoint: Checkpoint) -> tlog.Checkpoint:
    key = tlog.public_key_from_pem(checkpoint.key.public_key_pem.encode())
    opened, _note, _ = tlog.checkpoint_open(checkpoint.note, tlog.Verifier(checkpoint.origin, tlog.SIG_ED25519, key))
    return opened


def test_empty_chain_is_not_signed():
    assert checkpoint_create() is None
    assert not Checkpoint.objects.exists()


def test_checkpoint_signs_the_tree_head_as_a_c2sp_note_with_the_configured_key():
    record(3)

    checkpoint = checkpoint_create()

    head = TreeHead.objects.get()
    assert (checkpoint.size, checkpoint.root) == (head.size, head.root) == (3, head.root)
    key = SigningKey.objects.get()
    public = serialization.load_pem_public_key(key.public_key_pem.encode())
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert key.key_id == hashlib.sha256(raw).hexdigest() == checkpoint.key_id
    stored = Checkpoint.objects.get()
    root_b64 = base64.b64encode(bytes.fromhex(head.root)).decode()
    assert stored.note.startswith(f"{settings.AUDIT_LOG_ORIGIN}\n3\n{root_b64}\n\n\u2014 {settings.AUDIT_LOG_ORIGIN} ")
    opened = _opened(stored)
    assert (opened.size, opened.root.hex()) == (3, head.root)


def test_a_signature_does_not_cover_another_head():
    record(2)
    checkpoint = checkpoint_create()
    forged = Checkpoint(origin=checkpoint.origin, key=checkpoint.key, note=checkpoint.note.replace("\n2\n", "\n1\n"))
    with pytest.raises(tlog.FormatError, match="does not verify"):
        _opened(forged)


def test_head_that_did_not_move_is_skipped_then_signed_after_new_events():
    record(2)
    assert checkpoint_create() is not None
    assert checkpoint_create() is None
    assert audit_checkpoint_sign.delay().get() == {"signed": False, "reason": "head_unchanged"}

    record(1)
    result = audit_checkpoint_sign.delay().get()

    assert result["signed"] is True
    assert result["size"] == 3
    assert list(Checkpoint.objects.values_list("size", flat=True)) == [3, 2]


def test_rotated_key_signs_the_same_head_again_and_both_keys_are_kept(settings):
    record(2)
    first = checkpoint_create()
    settings.AUDIT_SIGNING_KEY = key_generate().decode()

    second = checkpoint_create()

    assert second is not None
    assert second.size == first.size
    assert second.key_id != first.key_id
    assert SigningKey.objects.count() == 2
    for checkpoint in Checkpoint.objects.select_related("key"):
        assert _opened(checkpoint).size == 2


def test_missing_key_is_reported_and_the_task_skips(settings):
    record(1)
    settings.AUDIT_SIGNING_KEY = ""
    settings.AUDIT_SIGNING_KEY_FILE = ""

    with pytest.raises(SigningKeyMissing):
        checkpoint_create()
    assert audit_checkpoint_sign.delay().get() == {"signed": False, "reason": "signing_key_missing"}
    assert not Checkpoint.objects.exists()


def test_key_from_a_file(settings, tmp_path):
    record(1)
    path = tmp_path / "key.pem"
    call_command("audit_keygen", str(path))
    settings.AUDIT_SIGNING_KEY = ""
    settings.AUDIT_SIGNING_KEY_FILE = str(path)

    checkpoint = checkpoint_create()

    assert checkpoint is not None
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(CommandError, match="refusing to overwrite"):
        call_command("audit_keygen", str(path))


def test_key_file_that_does_not_exist_is_a_clear_error(settings, tmp_path):
    record(1)
    settings.AUDIT_SIGNING_KEY = ""
    settings.AUDIT_SIGNING_KEY_FILE = str(tmp_path / "nope.pem")
    with pytest.raises(SigningKeyMissing, match="names no file"):
        checkpoint_create()


def test_a_broken_tail_is_never_signed():
    record(2)
    checkpoint_create()
    record(2)
    bypass("UPDATE audit_event SET action = 'forged' WHERE seq = 3")

    with pytest.raises(ChainBroken, match="event #3 no longer matches its leaf hash"):
        checkpoint_create()
    assert audit_checkpoint_sign.delay().get()["reason"] == "chain_broken"
    assert list(Checkpoint.objects.values_list("size", flat=True)) == [2]


def test_checkpoint_command(capsys):
    call_command("audit_checkpoint")
    record(1)
    call_command("audit_checkpoint")
    out = capsys.readouterr().out
    assert "Nothing to sign" in out
    assert "Signed checkpoint of size 1" in out


def test_beat_schedule_signs_periodically():
    entry = settings.CELERY_BEAT_SCHEDULE["audit-checkpoint-sign"]
    assert entry["task"] == "audit.checkpoint_sign"
    assert entry["schedule"] == settings.AUDIT_CHECKPOINT_INTERVAL > 0


@pytest.mark.postgres
def test_database_refuses_to_change_or_delete_checkpoints():
    record(1)
    checkpoint_create()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Checkpoint.objects.update(root="f" * 64)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Checkpoint.objects.all().delete()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        SigningKey.objects.update(public_key_pem="x")


@pytest.mark.postgres
@pytest.mark.slow
def test_checkpoint_task_on_a_real_worker(celery_worker):
    record(2)
    result = audit_checkpoint_sign.delay().get(timeout=30)
    assert result["signed"] is True
    assert result["size"] == 2
    assert Checkpoint.objects.get().size == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_signing_at_once_make_one_checkpoint():
    import threading

    from django.db import connections

    record(3)
    barrier = threading.Barrier(4)
    results: list = []

    def sign() -> None:
        try:
            barrier.wait()
            results.append(checkpoint_create())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 4
    assert sum(1 for r in results if r is not None) == 1
    assert list(Checkpoint.objects.values_list("size", flat=True)) == [3]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_export_command_outside_a_transaction_takes_one_snapshot(tmp_path):
    """The real command path (outermost transaction, repeatable read) on PostgreSQL."""
    import subprocess
    import sys

    record(5)
    checkpoint_create()
    call_command("audit_export", str(tmp_path / "x"))
    script = settings.BASE_DIR / "audit" / "offline_verify.py"
    done = subprocess.run([sys.executable, "-I", str(script), str(tmp_path / "x")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK: 5 events" in done.stdout
