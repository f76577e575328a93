"""Writing the trail to a directory that audit/offline_verify.py checks without the database."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction

from audit.chain import canonical_json, format_time
from audit.models import ChainHead, Checkpoint, SigningKey
from audit.selectors import event_dicts
from audit.signing import SigningKeyMissing, signer
from core.exports import Column

EVENT_COLUMNS = [
    Column("seq"),
    Column("created_at", lambda e: e.created_at.isoformat()),
    Column("actor_id"),
    Column("actor"),
    Column("role"),
    Column("action"),
    Column("subject_type"),
    Column("subject_id"),
    Column("data"),
    Column("request_id"),
    Column("prev_hash"),
    Column("hash"),
]
CHECKPOINT_COLUMNS = [
    Column("seq"),
    Column("hash"),
    Column("signed_at", lambda c: format_time(c.signed_at)),
    Column("key_id"),
    Column("signature"),
]


@dataclass(frozen=True)
class ExportResult:
    events: int
    checkpoints: int
    keys: int
    head_seq: int


def _public_key_pem(keys: list[SigningKey]) -> str | None:
    """The key that signs now, else the last key that signed anything."""
    try:
        return signer().public_key_pem
    except SigningKeyMissing:
        return keys[-1].public_key_pem if keys else None


def trail_export(*, directory: Path, progress: Callable[[int], object] | None = None) -> ExportResult:
    """Write events.jsonl, checkpoints.jsonl, public_key.pem and keys/<key id>.pem into `directory`.

    Streams the events (flat memory for any number) in one repeatable-read
    transaction, so the files describe one moment of the trail.
    """
    directory.mkdir(parents=True, exist_ok=True)
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            connection.cursor().execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        keys = list(SigningKey.objects.order_by("first_used_at", "key_id"))
        (directory / "keys").mkdir(exist_ok=True)
        for key in keys:
            (directory / "keys" / f"{key.key_id}.pem").write_text(key.public_key_pem, encoding="ascii")
        public_pem = _public_key_pem(keys)
        if public_pem:
            (directory / "public_key.pem").write_text(public_pem, encoding="ascii")
        checkpoints = 0
        with (directory / "checkpoints.jsonl").open("wb") as handle:
            for checkpoint in Checkpoint.objects.order_by("seq", "id").iterator():
                line = {
                    "seq": checkpoint.seq,
                    "hash": checkpoint.hash,
                    "signed_at": format_time(checkpoint.signed_at),
                    "key_id": checkpoint.key_id,
                    "signature": checkpoint.signature,
                }
                handle.write(canonical_json(line) + b"\n")
                checkpoints += 1
        head = ChainHead.objects.filter(pk=1).first()
        head_seq = head.seq if head else 0
        events = 0
        with (directory / "events.jsonl").open("wb", buffering=1 << 20) as handle:
            for event in event_dicts(up_to_seq=head_seq):
                handle.write(canonical_json(event) + b"\n")
                events += 1
                if progress is not None and events % 1000 == 0:
                    progress(1000)
        if progress is not None:
            progress(events % 1000)
    return ExportResult(events=events, checkpoints=checkpoints, keys=len(keys), head_seq=head_seq)
