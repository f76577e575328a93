"""Writing the trail to a directory that audit/offline_verify.py checks without the database.

Layout (docs/audit-format.md "Export"): manifest.json (signed), events.jsonl
(one entry per line: exactly the bytes each leaf hashes), checkpoints.jsonl
(one signed note per line, with the cosignatures received), public_key.pem
(the key that signs the manifest), keys/<key id>.pem (every key that ever
signed), witnesses.txt (the registered witnesses' verifier keys).
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy, pgettext_lazy

from audit import tlog
from audit.checkpoints import checkpoint_note
from audit.log.entries import canonical_json, format_time
from audit.log.verify import event_dicts
from audit.models import Checkpoint, SigningKey, TreeHead, Witness
from audit.signing import log_origin, signer
from core.exports import Column

# The regulators' downloads of a search (audit_browser.html) and of the checkpoints (checkpoint_list.html),
# not the trail export below, whose files are the entries' canonical bytes. The labels are the CSV
# header a person reads, in their language; the JSON Lines keys are the field names.
EVENT_COLUMNS = [
    Column("seq", label=gettext_lazy("Audit sequence number")),
    Column("created_at", lambda e: e.created_at.isoformat(), label=gettext_lazy("Time")),
    Column("actor_id", label=gettext_lazy("Actor ID")),
    Column("actor", label=gettext_lazy("Actor")),
    Column("role", label=gettext_lazy("Role")),
    Column("action", label=gettext_lazy("Action")),
    Column("subject_type", label=gettext_lazy("Subject type")),
    Column("subject_id", label=gettext_lazy("Subject id")),
    Column("data", label=gettext_lazy("Data")),
    Column("request_id", label=gettext_lazy("Request ID")),
]
CHECKPOINT_COLUMNS = [
    Column("size", label=gettext_lazy("Size")),
    Column("root", label=gettext_lazy("Root hash")),
    Column("signed_at", lambda c: format_time(c.signed_at), label=gettext_lazy("Signed at")),
    Column("key_id", label=gettext_lazy("Key")),
    Column("note", checkpoint_note, label=pgettext_lazy("checkpoint", "Signed note")),
]


@dataclass(frozen=True)
class ExportResult:
    events: int
    checkpoints: int
    keys: int
    tree_size: int


class _HashingWriter:
    """A binary file that also hashes what is written to it."""

    def __init__(self, path: Path) -> None:
        self.handle = path.open("wb", buffering=1 << 20)
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.digest.update(data)

    def close(self) -> str:
        self.handle.close()
        return self.digest.hexdigest()


def trail_export(*, directory: Path, progress: Callable[[int], object] | None = None) -> ExportResult:
    """Write the export into `directory`, in one repeatable-read snapshot, streaming the events (flat memory).

    The manifest lists the tree size and root, every checkpoint (size and root)
    and the SHA-256 of every other file, and is signed by the current key, so a
    checkpoint line removed, a file replaced or the trail cut is detected.
    SigningKeyMissing when no key is configured (an export is always signed).
    """
    current = signer()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "keys").mkdir(exist_ok=True)
    files: dict[str, str] = {}

    def write_text(name: str, text: str) -> None:
        (directory / name).write_bytes(text.encode("utf-8"))
        files[name] = hashlib.sha256(text.encode("utf-8")).hexdigest()

    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            connection.cursor().execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        keys = list(SigningKey.objects.order_by("first_used_at", "key_id"))
        pems = {key.key_id: key.public_key_pem for key in keys} | {current.key_id: current.public_key_pem}
        for key_id, pem in sorted(pems.items()):
            write_text(f"keys/{key_id}.pem", pem)
        write_text("public_key.pem", current.public_key_pem)
        write_text("witnesses.txt", "".join(f"{w.vkey}\n" for w in Witness.objects.order_by("name")))
        head = TreeHead.objects.filter(pk=1).first()
        size, root = (head.size, head.root) if head else (0, tlog.EMPTY_ROOT.hex())
        listed = []
        out = _HashingWriter(directory / "checkpoints.jsonl")
        for checkpoint in Checkpoint.objects.filter(size__lte=size).order_by("size", "id"):
            out.write(canonical_json({"note": checkpoint_note(checkpoint)}) + b"\n")
            listed.append({"size": checkpoint.size, "root": tlog.b64(bytes.fromhex(checkpoint.root))})
        files["checkpoints.jsonl"] = out.close()
        events = 0
        out = _HashingWriter(directory / "events.jsonl")
        for event in event_dicts(up_to_seq=size):
            out.write(canonical_json(event) + b"\n")
            events += 1
            if progress is not None and events % 1000 == 0:
                progress(1000)
        files["events.jsonl"] = out.close()
        if progress is not None:
            progress(events % 1000)
    manifest = {
        "type": "audit.export",
        "version": 1,
        "origin": log_origin(),
        "tree_size": size,
        "root": tlog.b64(bytes.fromhex(root)),
        "checkpoints": listed,
        "files": dict(sorted(files.items())),
        "exported_at": format_time(timezone.now()),
        "key_id": current.key_id,
    }
    manifest["signature"] = current.sign(manifest)
    (directory / "manifest.json").write_bytes(canonical_json(manifest) + b"\n")
    return ExportResult(events=events, checkpoints=len(listed), keys=len(pems), tree_size=size)
