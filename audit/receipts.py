"""Signed receipts: a document that proves something (a payout) was recorded in the trail, with its proof.

A receipt is signed when it is issued, in the transaction of its
`receipt.issued` event. The proof that the event is in the log (the event,
its inclusion proof and a signed checkpoint with the witnesses'
cosignatures) is attached when the receipt is downloaded: it is made against
the newest checkpoint, so it carries as many cosignatures as there are.
"""

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models

from audit import tlog
from audit.checkpoints import checkpoint_covering, checkpoint_note, inclusion_of, signing_key_register
from audit.log.append import BULK_BATCH_SIZE
from audit.log.entries import ENTRY_FIELDS, canonical_json, entry_bytes, format_time, normalise_data
from audit.log.tiles import TreeDamaged, leaf_hashes
from audit.models import Event, Receipt, SigningKey
from audit.services import EventInput, events_append, subject_of
from audit.signing import signer
from core.errors import InvalidInput

RECEIPT_ACTION = tlog.RECEIPT_ACTION


def payload_hash_of(payload: Any) -> str:
    """SHA-256 (hex) of a receipt payload's canonical JSON, as its receipt event records it."""
    return hashlib.sha256(canonical_json(payload)).hexdigest()


@dataclass(frozen=True)
class ReceiptInput:
    """One receipt of a bulk issue: what it proves (subject) and the facts it states (payload)."""

    subject_type: str
    subject_id: str
    payload: dict[str, Any]


def receipt_issue(*, actor: Any, subject: models.Model | tuple[str, Any], payload: dict[str, Any]) -> Receipt:
    """Record a receipt event and sign a document holding `payload`, the event's sequence number and time.

    Runs inside the caller's transaction (the receipt exists only if the change
    it proves commits); takes the tree head lock like event_record, so call it
    after your other row locks. `payload` follows the audit data rules (no floats).
    A subject has at most one receipt: a second one is an IntegrityError (unique
    constraint). Raises SigningKeyMissing when no key is configured.
    """
    if not isinstance(payload, dict):
        raise InvalidInput("invalid_payload", "A receipt payload is a JSON object.")
    subject_type, subject_id = subject_of(subject)
    return receipts_issue_many(actor=actor, items=[ReceiptInput(subject_type, subject_id, payload)])[0]


def receipts_issue_many(*, actor: Any, items: Sequence[ReceiptInput]) -> list[Receipt]:
    """Issue many receipts with one tree-head lock: one `receipt.issued` event and one signed document each.

    Same preconditions as receipt_issue (the caller's transaction, after its
    other row locks); the caller makes sure none of the subjects has a receipt
    yet (the unique constraint on the subject refuses a second one, which rolls
    the caller's transaction back). Checks the signing key before writing
    anything: SigningKeyMissing leaves no event behind.
    """
    if not items:
        return []
    if any(not isinstance(item.payload, dict) for item in items):
        raise InvalidInput("invalid_payload", "A receipt payload is a JSON object.")
    current = signer()
    key = signing_key_register(current)
    prepared = []
    for item in items:
        payload = normalise_data(item.payload)
        payload_json = _canonical(payload)  # encoded once: hashed here, signed inside the document below
        digest = hashlib.sha256(payload_json).hexdigest()
        prepared.append((uuid.uuid4(), payload, payload_json, digest, item.subject_type, str(item.subject_id)))
    written = events_append(
        actor=actor,
        events=[
            EventInput(RECEIPT_ACTION, subject_type, subject_id, {"receipt_id": str(rid), "payload_hash": digest})
            for rid, _, _, digest, subject_type, subject_id in prepared
        ],
    )
    issued_at = format_time(written.created_at)
    receipts = []
    for (receipt_id, payload, payload_json, digest, subject_type, subject_id), row in zip(
        prepared, written.rows, strict=True
    ):
        rid = str(receipt_id)
        document = {
            "type": "audit.receipt",
            "version": 1,
            "receipt_id": rid,
            "subject": {"type": subject_type, "id": subject_id},
            "payload": None,
            "audit_seq": row.seq,
            "issued_at": issued_at,
            "key_id": key.key_id,
        }
        document["signature"] = current.sign_canonical(_with_payload(_canonical(document), payload_json))
        document["payload"] = payload
        receipts.append(
            Receipt(
                id=receipt_id,
                event_id=row.seq,
                subject_type=subject_type,
                subject_id=subject_id,
                payload_hash=digest,
                document=document,
                key=key,
                issued_at=written.created_at,
            )
        )
    if connection.vendor == "postgresql":
        _receipts_copy(receipts)
    else:
        Receipt.objects.bulk_create(receipts, batch_size=BULK_BATCH_SIZE)
    return receipts


def _canonical(value: Any) -> bytes:
    """RFC 8785 bytes of an already normalised value (normalise_data)."""
    try:
        return tlog.canonical_json(value)
    except tlog.FormatError as exc:
        raise TypeError(str(exc)) from exc


_NO_PAYLOAD = b'"payload":null'


def _with_payload(document_json: bytes, payload_json: bytes) -> bytes:
    """The canonical document with its payload: its canonical JSON put where the document says `null`.

    The same bytes as encoding the whole document (keys keep their order; the payload's bytes are
    its canonical JSON): `"payload":null` occurs once, since inside a JSON string every quote is
    escaped. Saves encoding every payload twice.
    """
    if document_json.count(_NO_PAYLOAD) != 1:  # never: the document is ours; but nothing wrong is ever signed
        raise ValueError("a receipt document must hold its payload exactly once")
    return document_json.replace(_NO_PAYLOAD, b'"payload":' + payload_json)


_RECEIPT_COLUMNS = ("id", "event_id", "subject_type", "subject_id", "payload_hash", "document", "key_id", "issued_at")


def _receipts_copy(receipts: list[Receipt]) -> None:
    """COPY receipts into their table (caller's transaction): bulk_create spent 60 % of issuing quoting the JSON."""
    import json

    with (
        connection.wrap_database_errors,  # a second receipt for a subject is Django's IntegrityError, as elsewhere
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {Receipt._meta.db_table} ({', '.join(_RECEIPT_COLUMNS)}) FROM STDIN") as copy,
    ):
        for r in receipts:
            document = json.dumps(r.document, ensure_ascii=False, separators=(",", ":"))
            copy.write_row(
                (r.id, r.event_id, r.subject_type, r.subject_id, r.payload_hash, document, r.key_id, r.issued_at)
            )


# --- The proof a receipt carries -----------------------------------------------------------------


def receipt_proof(receipt: Receipt) -> dict[str, Any] | None:
    """The receipt event, its inclusion proof and the newest checkpoint (with cosignatures) that covers it.

    None while no checkpoint covers the event yet (checkpoints follow receipts within seconds).
    """
    checkpoint = checkpoint_covering(seq=receipt.event_id)
    if checkpoint is None:
        return None
    proof = inclusion_of(seq=receipt.event_id, size=checkpoint.size)
    return {
        "event": proof["event"],
        "leaf_index": proof["leaf_index"],
        "tree_size": proof["tree_size"],
        "inclusion": proof["inclusion"],
        "checkpoint": checkpoint_note(checkpoint),
    }


def receipt_bundle(receipt: Receipt) -> dict[str, Any]:
    """What a customer downloads: the signed document and, beside it, its proof (docs/audit-format.md)."""
    return {**receipt.document, "proof": receipt_proof(receipt)}


def receipt_by_id(*, receipt_id: Any) -> Receipt | None:
    try:
        return Receipt.objects.filter(pk=uuid.UUID(str(receipt_id))).first()
    except ValueError:
        return None


# --- Checking a receipt on the server ------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptCheck:
    """What checking a receipt found. `ok` only when it is signed by a known key and recorded in the trail."""

    signature_valid: bool
    in_trail: bool
    problems: list[str]
    receipt_id: str = ""
    audit_seq: int | None = None
    key_id: str = ""
    checkpointed: bool = False
    proof_valid: bool | None = None
    witnesses: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.signature_valid and self.in_trail and self.proof_valid is not False


def _event_in_trail(seq: Any, document: dict[str, Any]) -> bool:
    """Whether event `seq` is this receipt's event and still matches its leaf hash in the tree."""
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        return False
    event = Event.objects.filter(seq=seq).values(*ENTRY_FIELDS).first()
    if event is None:
        return False
    event["created_at"] = format_time(event["created_at"])
    try:
        stored = leaf_hashes(seq - 1, seq)[0]
        payload_hash = payload_hash_of(document.get("payload"))
    except (TreeDamaged, TypeError):
        return False
    data = event["data"] if isinstance(event["data"], dict) else {}
    return (
        event["action"] == RECEIPT_ACTION
        and data.get("receipt_id") == str(document.get("receipt_id"))
        and data.get("payload_hash") == payload_hash
        and tlog.leaf_hash(entry_bytes(event)) == stored
    )


def receipt_verify(document: Any) -> ReceiptCheck:
    """Check a receipt as downloaded: signature (any key that ever signed), event in the trail, and its proof.

    The event must be a receipt event at `audit_seq` whose data names this
    receipt and the SHA-256 of its payload and whose leaf hash is in the tree.
    When the receipt carries a proof, the proof is checked as a stranger would
    (audit.tlog.receipt_verify) with the keys this system used.
    """
    if (
        not isinstance(document, dict)
        or set(document) - {"proof"} != tlog.RECEIPT_SIGNED_FIELDS | {"signature"}
        or document.get("type") != "audit.receipt"
    ):
        return ReceiptCheck(False, False, ["This is not a receipt: its fields are not those of an audit receipt."])
    receipt_id, seq, key_id = str(document["receipt_id"]), document["audit_seq"], str(document["key_id"])
    problems = []
    key = SigningKey.objects.filter(key_id=key_id).first()
    unsigned = {name: document[name] for name in tlog.RECEIPT_SIGNED_FIELDS}
    from audit.signing import signature_valid

    signed = key is not None and signature_valid(
        public_key_pem=key.public_key_pem, document=unsigned, signature=str(document["signature"])
    )
    if key is None:
        problems.append("The receipt is signed by a key this system never used.")
    elif not signed:
        problems.append("The signature does not match the receipt: it was altered or forged.")
    in_trail = _event_in_trail(seq, document)
    if not in_trail:
        problems.append(f"Event #{seq} of the audit trail does not record this receipt with this content.")
    checkpointed = in_trail and checkpoint_covering(seq=seq) is not None
    proof_valid, witnesses = None, []
    if document.get("proof") is not None and signed:
        keys = [tlog.public_key_from_pem(k.public_key_pem.encode("ascii")) for k in SigningKey.objects.all()]
        try:
            facts = tlog.receipt_verify(document, keys=keys)
            proof_valid = True
            witnesses = _cosigners(facts.checkpoint, document["proof"]["checkpoint"])
        except tlog.FormatError as exc:
            proof_valid = False
            problems.append(f"The proof does not hold: {exc}.")
    return ReceiptCheck(
        signed,
        in_trail,
        problems,
        receipt_id,
        seq if isinstance(seq, int) else None,
        key_id,
        checkpointed,
        proof_valid,
        witnesses,
    )


def _cosigners(checkpoint: tlog.Checkpoint, note_text: str) -> list[str]:
    """Names of the registered witnesses whose cosignature on this checkpoint verifies."""
    from audit.models import Witness

    note = tlog.note_parse(note_text)
    names = []
    for witness in Witness.objects.all():
        try:
            if tlog.note_verified_by(note, tlog.Verifier.parse(witness.vkey)) is not None:
                names.append(witness.name)
        except tlog.FormatError:
            continue
    return names


def entry_of(event: Event) -> dict[str, Any]:
    """An Event row as the dict whose canonical JSON is its entry."""
    return {name: getattr(event, name) for name in ENTRY_FIELDS} | {"created_at": format_time(event.created_at)}
