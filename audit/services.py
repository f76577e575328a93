"""Writing the audit trail. Every state change calls event_record in its own transaction."""

import json
import logging
import uuid
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from audit.chain import (
    RECEIPT_ACTION,
    BatchHasher,
    chain_check,
    checkpoint_document,
    data_canonical,
    format_time,
    normalise_data,
    payload_hash_of,
)
from audit.context import current_request_id, current_task
from audit.models import ChainHead, Checkpoint, Event, Receipt, SigningKey, VerificationRun
from audit.selectors import chain_verify, checkpoints_verify, event_dicts
from audit.signing import Signer, signer
from core.errors import ApplicationError, Conflict, InvalidInput
from core.roles import Role, has_role, role_of

logger = logging.getLogger(__name__)

BULK_BATCH_SIZE = 2000


@dataclass(frozen=True)
class Actor:
    """Who did it: a user with a role, a Celery task, or the system (a command)."""

    name: str
    role: str
    id: int | None = None

    @classmethod
    def of(cls, who: "Actor | Any | None") -> "Actor":
        """An Actor for a user, an Actor, or None (the running task, else the system)."""
        if isinstance(who, Actor):
            return who
        if who is not None and getattr(who, "is_authenticated", False):
            return cls(name=who.get_username(), role=role_of(who) or "user", id=who.pk)
        task = current_task.get()
        if task is not None:
            return cls(name=task[0], role="task")
        return cls(name="system", role="system")

    @classmethod
    def system(cls, name: str) -> "Actor":
        return cls(name=name, role="system")


@dataclass(frozen=True)
class EventInput:
    """One event of a bulk write."""

    action: str
    subject_type: str
    subject_id: str
    data: dict[str, Any] = field(default_factory=dict)


def subject_of(subject: models.Model | tuple[str, Any]) -> tuple[str, str]:
    """("claims.incident", "12") for a model instance, or the given (type, id) pair."""
    if isinstance(subject, models.Model):
        return subject._meta.label_lower, str(subject.pk)
    subject_type, subject_id = subject
    return subject_type, str(subject_id)


def _context_request_id() -> str:
    task = current_task.get()
    if task is not None and task[1]:
        return f"task:{task[1]}"
    return current_request_id.get()


def _head_lock() -> ChainHead:
    """Lock the chain head row, creating it on first use. Caller holds a transaction."""
    head = ChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        ChainHead.objects.bulk_create([ChainHead(pk=1)], ignore_conflicts=True)
        head = ChainHead.objects.select_for_update().get(pk=1)
    return head


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("audit events must be written inside the transaction of the change they record")


def event_record(
    *,
    actor: Any,
    action: str,
    subject: models.Model | tuple[str, Any],
    data: dict[str, Any] | None = None,
) -> Event:
    """Append one event to the chain, inside the caller's transaction.

    `actor` is a user, an Actor or None (the running task or the system).
    `data` holds before/after and reason; Decimals and times become strings,
    floats are refused. Precondition: the caller's transaction has taken its
    other row locks first, because this takes the chain head lock and holds it
    until commit.
    """
    who, now, request_id, rows = _events_append(
        actor=actor, events=[EventInput(action, *subject_of(subject), data or {})]
    )
    seq, action, subject_type, subject_id, data_json, prev_hash, this_hash = rows[0]
    return Event(
        seq=seq,
        created_at=now,
        actor_id=who.id,
        actor=who.name,
        role=who.role,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        data=json.loads(data_json),
        request_id=request_id,
        prev_hash=prev_hash,
        hash=this_hash,
    )


def events_record(*, actor: Any, events: Sequence[EventInput]) -> int:
    """Append many events under a single head lock (one lock per call, not per event); return the last seq.

    Same preconditions as event_record. Bulk work calls this once per chunk.
    """
    _, _, _, rows = _events_append(actor=actor, events=events)
    return rows[-1][0] if rows else 0


_EventRow = tuple[int, str, str, str, str, str, str]  # seq, action, subject type, id, data JSON, prev hash, hash


def _events_append(*, actor: Any, events: Sequence[EventInput]) -> tuple[Actor, Any, str, list[_EventRow]]:
    """Hash and write events after the locked head; move the head. Caller's transaction.

    On PostgreSQL the rows go in with COPY: Django's bulk_create spent most of
    its time compiling and quoting, which made 100,000 events take ~10 s.
    """
    _require_transaction()
    who = Actor.of(actor)
    request_id = _context_request_id()
    if not events:
        return who, None, request_id, []
    head = _head_lock()
    now = timezone.now()
    hasher = BatchHasher(
        created_at=format_time(now), actor_id=who.id, actor=who.name, role=who.role, request_id=request_id
    )
    seq, prev_hash = head.seq, head.hash
    rows: list[_EventRow] = []
    for item in events:
        seq += 1
        subject_id = str(item.subject_id)
        data_json = data_canonical(item.data)
        this_hash = hasher.hash(
            seq=seq,
            action=item.action,
            subject_type=item.subject_type,
            subject_id=subject_id,
            data_json=data_json,
            prev_hash=prev_hash,
        )
        rows.append((seq, item.action, item.subject_type, subject_id, data_json, prev_hash, this_hash))
        prev_hash = this_hash
    if connection.vendor == "postgresql":
        _events_copy(who=who, now=now, request_id=request_id, rows=rows)
    else:
        Event.objects.bulk_create(
            [
                Event(
                    seq=r[0],
                    created_at=now,
                    actor_id=who.id,
                    actor=who.name,
                    role=who.role,
                    action=r[1],
                    subject_type=r[2],
                    subject_id=r[3],
                    data=json.loads(r[4]),
                    request_id=request_id,
                    prev_hash=r[5],
                    hash=r[6],
                )
                for r in rows
            ],
            batch_size=BULK_BATCH_SIZE,
        )
    ChainHead.objects.filter(pk=1).update(seq=seq, hash=prev_hash)
    return who, now, request_id, rows


_COPY_COLUMNS = (
    "seq",
    "created_at",
    "actor_id",
    "actor",
    "role",
    "action",
    "subject_type",
    "subject_id",
    "data",
    "request_id",
    "prev_hash",
    "hash",
)


def _events_copy(*, who: Actor, now: Any, request_id: str, rows: list[_EventRow]) -> None:
    """COPY prepared events into the table (caller's transaction); `data` goes as its canonical JSON text."""
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {Event._meta.db_table} ({', '.join(_COPY_COLUMNS)}) FROM STDIN") as copy,
    ):
        for seq, action, subject_type, subject_id, data_json, prev_hash, this_hash in rows:
            row = (seq, now, who.id, who.name, who.role, action, subject_type, subject_id, data_json)
            copy.write_row((*row, request_id, prev_hash, this_hash))


# --- Checkpoints -------------------------------------------------------------------


def _signing_key_register(current: Signer) -> SigningKey:
    """The SigningKey row of the current key, created on first use. Caller holds a transaction."""
    key, _ = SigningKey.objects.get_or_create(
        key_id=current.key_id,
        defaults={"public_key_pem": current.public_key_pem, "first_used_at": timezone.now()},
    )
    return key


class ChainBroken(ApplicationError):
    """The trail does not verify, so nothing may be signed over it."""

    status = 409


def _tail_verify(*, head: ChainHead) -> None:
    """Check the events after the last checkpoint up to `head`, so a signature never covers a broken tail."""
    base = Checkpoint.objects.filter(seq__lte=head.seq).order_by("-seq").first()
    after_seq, after_hash = (base.seq, base.hash) if base else (0, "0" * 64)
    if base and not Event.objects.filter(seq=base.seq, hash=base.hash).exists():
        raise ChainBroken("chain_broken", f"event #{base.seq} no longer matches its checkpoint")
    with closing(event_dicts(after_seq=after_seq, up_to_seq=head.seq)) as tail:
        result = chain_check(tail, after_seq=after_seq, after_hash=after_hash)
    if not result.ok:
        raise ChainBroken("chain_broken", f"sequence {result.first_bad_seq}: {result.problem}")
    if (result.head_seq, result.head_hash) != (head.seq, head.hash):
        raise ChainBroken("chain_broken", f"the events end at #{result.head_seq}, the head names #{head.seq}")


@transaction.atomic(durable=True)
def checkpoint_create() -> Checkpoint | None:
    """Sign the chain head (sequence, hash, time) with the current key.

    Returns None when the chain is empty or the head has not moved since this
    key's last checkpoint. Refuses (ChainBroken) when the events since the last
    checkpoint do not verify; SigningKeyMissing when no key is configured.
    """
    current = signer()
    head = ChainHead.objects.filter(pk=1).first()
    if head is None or head.seq == 0:
        return None
    key = _signing_key_register(current)
    if Checkpoint.objects.filter(key=key, seq__gte=head.seq).exists():
        return None
    _tail_verify(head=head)
    signed_at = timezone.now()
    document = checkpoint_document(seq=head.seq, hash=head.hash, signed_at=format_time(signed_at), key_id=key.key_id)
    signature = current.sign(document)
    checkpoint = Checkpoint(seq=head.seq, hash=head.hash, signed_at=signed_at, key=key, signature=signature)
    try:
        with transaction.atomic():
            checkpoint.save(force_insert=True)
    except IntegrityError:  # another worker signed the same head a moment ago
        return None
    return checkpoint


# --- Receipts ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptInput:
    """One receipt of a bulk issue: what it proves (subject) and the facts it states (payload)."""

    subject_type: str
    subject_id: str
    payload: dict[str, Any]


def receipt_issue(*, actor: Any, subject: models.Model | tuple[str, Any], payload: dict[str, Any]) -> Receipt:
    """Record a receipt event and sign a document holding `payload`, the event's sequence number and time.

    Runs inside the caller's transaction (the receipt exists only if the change
    it proves commits); takes the chain head lock like event_record, so call it
    after your other row locks. `payload` follows the audit data rules (no floats).
    A subject has at most one receipt: a second one is an IntegrityError (unique
    constraint). Raises SigningKeyMissing when no key is configured.
    """
    if not isinstance(payload, dict):
        raise InvalidInput("invalid_payload", "A receipt payload is a JSON object.")
    subject_type, subject_id = subject_of(subject)
    return receipts_issue_many(actor=actor, items=[ReceiptInput(subject_type, subject_id, payload)])[0]


def receipts_issue_many(*, actor: Any, items: Sequence[ReceiptInput]) -> list[Receipt]:
    """Issue many receipts with one chain-head lock: one `receipt.issued` event and one signed document each.

    Same preconditions as receipt_issue (the caller's transaction, after its
    other row locks); the caller makes sure none of the subjects has a receipt
    yet (the unique constraint on the subject refuses a second one, which rolls
    the caller's transaction back). Checks the signing key before writing
    anything: SigningKeyMissing leaves no event behind.
    """
    _require_transaction()
    if not items:
        return []
    if any(not isinstance(item.payload, dict) for item in items):
        raise InvalidInput("invalid_payload", "A receipt payload is a JSON object.")
    current = signer()
    key = _signing_key_register(current)
    prepared = []
    for item in items:
        payload = normalise_data(item.payload)
        prepared.append((uuid.uuid4(), payload, payload_hash_of(payload), item.subject_type, str(item.subject_id)))
    _, now, _, rows = _events_append(
        actor=actor,
        events=[
            EventInput(RECEIPT_ACTION, subject_type, subject_id, {"receipt_id": str(rid), "payload_hash": digest})
            for rid, _, digest, subject_type, subject_id in prepared
        ],
    )
    issued_at = format_time(now)
    receipts = []
    for (receipt_id, payload, digest, subject_type, subject_id), row in zip(prepared, rows, strict=True):
        document = {
            "type": "audit.receipt",
            "version": 1,
            "receipt_id": str(receipt_id),
            "subject": {"type": subject_type, "id": subject_id},
            "payload": payload,
            "audit_seq": row[0],
            "issued_at": issued_at,
            "key_id": key.key_id,
        }
        document["signature"] = current.sign(document)
        receipts.append(
            Receipt(
                id=receipt_id,
                event_id=row[0],
                subject_type=subject_type,
                subject_id=subject_id,
                payload_hash=digest,
                document=document,
                key=key,
                issued_at=now,
            )
        )
    if connection.vendor == "postgresql":
        _receipts_copy(receipts)
    else:
        Receipt.objects.bulk_create(receipts, batch_size=BULK_BATCH_SIZE)
    return receipts


_RECEIPT_COLUMNS = ("id", "event_id", "subject_type", "subject_id", "payload_hash", "document", "key_id", "issued_at")


def _receipts_copy(receipts: list[Receipt]) -> None:
    """COPY receipts into their table (caller's transaction): bulk_create spent 60 % of issuing quoting the JSON."""
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


# --- Regulator accounts ------------------------------------------------------------------


@transaction.atomic(durable=True)
def regulator_create(*, actor: Any, username: str, email: str, password: str):
    """Create a login with the regulator role. Only an admin (or a command run on the server) may.

    400 for a bad username, email or password; 409 when the username is taken.
    """
    if not isinstance(actor, Actor) and not has_role(actor, Role.ADMIN):
        raise ApplicationError("permission_denied", "Only admins create regulator accounts.", status=403)
    users = get_user_model()
    user = users(username=username.strip(), email=email.strip())
    try:
        user.full_clean(exclude=["password"], validate_unique=False)
        validate_password(password, user)
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"password": exc.messages}
        raise InvalidInput("invalid", "The regulator account is invalid.", extra={"fields": fields}) from exc
    if users.objects.filter(username__iexact=user.username).exists():
        raise Conflict("username_taken", f"The username {user.username!r} is taken.")
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=Role.REGULATOR.value))
    event_record(
        actor=actor,
        action="regulator.account_created",
        subject=user,
        data={"after": {"username": user.username, "email": user.email, "role": Role.REGULATOR.value}},
    )
    return user


def regulator_view_record(*, user: Any, method: str, path: str, query: str, status: int) -> Event:
    """Write a `regulator.viewed` event in its own transaction: who looked at what, and when."""
    with transaction.atomic(durable=True):
        return event_record(
            actor=user,
            action="regulator.viewed",
            subject=("page", path[:64]),
            data={"method": method, "path": path, "query": query[:1000], "status": status},
        )


# --- Verification runs --------------------------------------------------------------------


def verification_run(*, requested_by: Any) -> VerificationRun:
    """Check the whole chain and every checkpoint now, and keep the result (shown to regulators).

    The check reads outside any transaction (it may take a while on a long trail); only the
    result is written, in a transaction of its own.
    """
    chain = chain_verify()
    checkpoints = checkpoints_verify()
    with transaction.atomic(durable=True):
        return VerificationRun.objects.create(
            ran_at=timezone.now(),
            ok=chain.ok and not checkpoints.problems,
            checked=chain.checked,
            head_seq=chain.head_seq,
            head_hash=chain.head_hash,
            first_bad_seq=chain.first_bad_seq,
            problem=chain.problem,
            checkpoints_checked=checkpoints.checked,
            checkpoint_problems=checkpoints.problems,
            requested_by=Actor.of(requested_by).name,
        )
