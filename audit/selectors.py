"""Reading and checking the audit trail."""

import datetime as dt
from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from audit.chain import (
    GENESIS_HASH,
    HASHED_FIELDS,
    RECEIPT_ACTION,
    ChainCheck,
    chain_check,
    checkpoint_document,
    event_hash,
    format_time,
    payload_hash_of,
)
from audit.models import ChainHead, Checkpoint, Event, SigningKey, VerificationRun
from audit.signing import signature_valid
from core.errors import NotFound
from core.roles import Role


def event_dicts(
    *, after_seq: int = 0, up_to_seq: int | None = None, chunk_size: int = 5000
) -> Generator[dict[str, Any], None, None]:
    """Events in sequence order as the plain dicts that are hashed (plus "hash"), streamed."""
    events = Event.objects.filter(seq__gt=after_seq)
    if up_to_seq is not None:
        events = events.filter(seq__lte=up_to_seq)
    rows = events.order_by("seq").values(*HASHED_FIELDS, "hash").iterator(chunk_size=chunk_size)
    # Close the server-side cursor as soon as the caller stops (a broken chain ends the walk
    # early), while its transaction is still open, not whenever the garbage collector runs.
    with closing(rows):
        for row in rows:
            row["created_at"] = format_time(row["created_at"])
            yield row


def chain_verify() -> ChainCheck:
    """Recompute the whole chain and compare its end with the stored head."""
    with closing(event_dicts()) as events:
        result = chain_check(events)
    if not result.ok:
        return result
    head = ChainHead.objects.filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, result.head_hash)
    if head_seq != result.head_seq or (head_seq and head_hash != result.head_hash):
        missing = result.head_seq + 1
        problem = f"the head records sequence {head_seq} but the events end at {result.head_seq}"
        return ChainCheck(False, result.checked, result.head_seq, result.head_hash, missing, problem)
    return result


def event_list_for_subject(*, subject_type: str, subject_id: str) -> QuerySet[Event]:
    return Event.objects.filter(subject_type=subject_type, subject_id=str(subject_id)).order_by("seq")


@dataclass(frozen=True)
class CheckpointCheck:
    checked: int
    problems: list[str]


def checkpoints_verify() -> CheckpointCheck:
    """Every checkpoint's signature verifies with its key, and names an event with the same hash."""
    problems = []
    checked = 0
    hashes = Event.objects.filter(seq=OuterRef("seq")).values("hash")[:1]
    rows = Checkpoint.objects.select_related("key").annotate(event_hash=Subquery(hashes)).order_by("seq", "id")
    for checkpoint in rows.iterator(chunk_size=2000):
        checked += 1
        document = checkpoint_document(
            seq=checkpoint.seq,
            hash=checkpoint.hash,
            signed_at=format_time(checkpoint.signed_at),
            key_id=checkpoint.key_id,
        )
        if not signature_valid(
            public_key_pem=checkpoint.key.public_key_pem, document=document, signature=checkpoint.signature
        ):
            problems.append(f"checkpoint #{checkpoint.seq} (key {checkpoint.key_id[:16]}) has a bad signature")
        elif checkpoint.event_hash != checkpoint.hash:
            problems.append(
                f"checkpoint #{checkpoint.seq} does not match event #{checkpoint.seq}: the trail was rewritten"
            )
    return CheckpointCheck(checked=checked, problems=problems)


def verification_latest() -> VerificationRun | None:
    return VerificationRun.objects.order_by("-ran_at", "-id").first()


def chain_head() -> tuple[int, str]:
    head = ChainHead.objects.filter(pk=1).first()
    return (head.seq, head.hash) if head else (0, GENESIS_HASH)


def checkpoint_list() -> QuerySet[Checkpoint]:
    return Checkpoint.objects.select_related("key").order_by("-seq", "-id")


def checkpoint_get(*, checkpoint_id: int) -> Checkpoint:
    checkpoint = Checkpoint.objects.select_related("key").filter(pk=checkpoint_id).first()
    if checkpoint is None:
        raise NotFound("not_found", "No such checkpoint.")
    return checkpoint


def checkpoint_signed(checkpoint: Checkpoint) -> dict[str, Any]:
    """A checkpoint as downloaded: the signed fields and the signature (checkpoints.jsonl's shape)."""
    return {
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "signed_at": format_time(checkpoint.signed_at),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
    }


def signing_key_list() -> QuerySet[SigningKey]:
    return SigningKey.objects.order_by("-first_used_at")


@dataclass(frozen=True)
class EventFilter:
    subject_type: str = ""
    subject_id: str = ""
    actor: str = ""
    action: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def event_search(*, filters: EventFilter, newest_first: bool = True) -> QuerySet[Event]:
    """Events matching every given filter; `action` ending in "*" matches a prefix ("claim.*")."""
    events = Event.objects.all()
    if filters.subject_type:
        events = events.filter(subject_type=filters.subject_type)
    if filters.subject_id:
        events = events.filter(subject_id=filters.subject_id)
    if filters.actor:
        events = events.filter(actor=filters.actor)
    if filters.action.endswith("*"):
        events = events.filter(action__startswith=filters.action[:-1])
    elif filters.action:
        events = events.filter(action=filters.action)
    if filters.since:
        events = events.filter(created_at__gte=filters.since)
    if filters.until:
        events = events.filter(created_at__lt=filters.until)
    return events.order_by("-seq" if newest_first else "seq")


def event_counts_per_day(*, days: int = 30, today: dt.date | None = None) -> list[tuple[dt.date, int]]:
    """Events written per calendar day (the site's time zone) over the last `days` days, zeros included."""
    today = today or timezone.localdate()
    first = today - dt.timedelta(days=days - 1)
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    counts = dict(
        Event.objects.filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values_list("day")
        .annotate(n=Count("seq"))
        .values_list("day", "n")
    )
    return [(first + dt.timedelta(days=i), counts.get(first + dt.timedelta(days=i), 0)) for i in range(days)]


RECEIPT_FIELDS = frozenset(
    ("type", "version", "receipt_id", "subject", "payload", "audit_seq", "issued_at", "key_id", "signature")
)


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

    @property
    def ok(self) -> bool:
        return self.signature_valid and self.in_trail


def receipt_verify(document: Any) -> ReceiptCheck:
    """Check a receipt document: its signature (any key that ever signed), and its event in the trail.

    The event must be a receipt event at `audit_seq` whose data names this
    receipt and the SHA-256 of its payload, and whose own hash still matches
    its content. `checkpointed` says whether a signed checkpoint covers it yet.
    """
    if not isinstance(document, dict) or set(document) != RECEIPT_FIELDS or document.get("type") != "audit.receipt":
        return ReceiptCheck(False, False, ["This is not a receipt: its fields are not those of an audit receipt."])
    receipt_id, seq, key_id = str(document["receipt_id"]), document["audit_seq"], str(document["key_id"])
    problems = []
    key = SigningKey.objects.filter(key_id=key_id).first()
    unsigned = {name: value for name, value in document.items() if name != "signature"}
    signed = key is not None and signature_valid(
        public_key_pem=key.public_key_pem, document=unsigned, signature=str(document["signature"])
    )
    if key is None:
        problems.append("The receipt is signed by a key this system never used.")
    elif not signed:
        problems.append("The signature does not match the receipt: it was altered or forged.")
    event = Event.objects.filter(seq=seq).first() if isinstance(seq, int) and not isinstance(seq, bool) else None
    in_trail = False
    if event is None:
        problems.append(f"The audit trail has no event #{seq}.")
    else:
        stored = {name: getattr(event, name) for name in HASHED_FIELDS} | {"created_at": format_time(event.created_at)}
        in_trail = (
            event.action == RECEIPT_ACTION
            and event.data.get("receipt_id") == receipt_id
            and event.data.get("payload_hash") == payload_hash_of(document["payload"])
            and event_hash(stored) == event.hash
        )
        if not in_trail:
            problems.append(f"Event #{seq} of the audit trail does not record this receipt with this content.")
    checkpointed = in_trail and Checkpoint.objects.filter(seq__gte=seq).exists()
    return ReceiptCheck(
        signed, in_trail, problems, receipt_id, seq if isinstance(seq, int) else None, key_id, checkpointed
    )


def regulator_list() -> QuerySet:
    """Logins with the regulator role."""
    return get_user_model().objects.filter(groups__name=Role.REGULATOR.value).order_by("username")
