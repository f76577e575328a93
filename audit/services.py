"""Writing the audit trail. Every state change calls event_record in its own transaction."""

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import current_task, request_or_task_id
from audit.log.append import EventRow, LeafAppender, events_write, events_write_each, head_lock
from audit.log.entries import EntryEncoder, data_canonical, format_time, normalise_data
from audit.models import Event, StagedEvent
from core.dispatch import enqueue_coalesced
from core.errors import ApplicationError, Conflict, InvalidInput
from core.roles import Role, has_role, role_of

logger = logging.getLogger(__name__)


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
    return request_or_task_id()


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
    """Append one event to the log, inside the caller's transaction.

    `actor` is a user, an Actor or None (the running task or the system).
    `data` holds before/after and reason; Decimals and times become strings,
    floats are refused. Precondition: the caller's transaction has taken its
    other row locks first, because this takes the tree head lock and holds it
    until commit.
    """
    written = events_append(actor=actor, events=[EventInput(action, *subject_of(subject), data or {})])
    row = written.rows[0]
    return Event(
        seq=row.seq,
        created_at=written.created_at,
        actor_id=written.actor.id,
        actor=written.actor.name,
        role=written.actor.role,
        action=row.action,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        data=json.loads(row.data_json),
        request_id=written.request_id,
    )


def events_record(*, actor: Any, events: Sequence[EventInput]) -> int:
    """Append many events under a single head lock (one lock per call, not per event); return the last seq.

    Same preconditions as event_record. Bulk work calls this once per chunk.
    """
    written = events_append(actor=actor, events=events)
    return written.rows[-1].seq if written.rows else 0


@dataclass(frozen=True)
class Written:
    """What events_append wrote: the shared fields, and each event's row with its entry (leaf) bytes."""

    actor: Actor
    created_at: Any
    request_id: str
    rows: list[EventRow]
    entries: list[bytes]


def events_append(*, actor: Any, events: Sequence[EventInput]) -> Written:
    """Encode events after the locked head, write them, their leaf hashes (tiles) and the new head.

    Caller's transaction; other audit services (receipts, liabilities) build on it.
    """
    _require_transaction()
    who = Actor.of(actor)
    request_id = _context_request_id()
    if not events:
        return Written(who, None, request_id, [], [])
    head = head_lock()
    now = timezone.now()
    encoder = EntryEncoder(
        created_at=format_time(now), actor_id=who.id, actor=who.name, role=who.role, request_id=request_id
    )
    tree = LeafAppender(head)
    rows: list[EventRow] = []
    entries: list[bytes] = []
    for item in events:
        row = EventRow(tree.size + 1, item.action, item.subject_type, str(item.subject_id), data_canonical(item.data))
        entry = encoder.entry(
            seq=row.seq,
            action=row.action,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            data_json=row.data_json,
        )
        tree.add(entry)
        rows.append(row)
        entries.append(entry)
    events_write(rows=rows, created_at=now, actor_id=who.id, actor=who.name, role=who.role, request_id=request_id)
    tree.flush()
    return Written(who, now, request_id, rows, entries)


# --- Regulator accounts ------------------------------------------------------------------


@transaction.atomic(durable=True)
def regulator_create(*, actor: Any, username: str, email: str, password: str):
    """Create a login with the regulator role. Only an admin (or a command run on the server) may.

    400 for a bad username, email or password; 409 when the username is taken.
    """
    if not isinstance(actor, Actor) and not has_role(actor, Role.ADMIN):
        raise ApplicationError("permission_denied", _("Only admins create regulator accounts."), status=403)
    users = get_user_model()
    user = users(username=username.strip(), email=email.strip())
    try:
        user.full_clean(exclude=["password"], validate_unique=False)
        validate_password(password, user)
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"password": exc.messages}
        raise InvalidInput("invalid", _("The regulator account is invalid."), extra={"fields": fields}) from exc
    if users.objects.filter(username__iexact=user.username).exists():
        raise Conflict("username_taken", _("The username %(name)s is taken.") % {"name": user.username})
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


def regulator_view_record(*, user: Any, method: str, path: str, query: str, status: int) -> None:
    """Record a `regulator.viewed` event: who looked at what, and when.

    One INSERT into the staging table, committed at once, without the tree head
    lock: readers do not queue behind each other (or behind every writer) to be
    recorded. `staged_events_drain` appends the staged events to the log in
    batches, within about AUDIT_STAGED_DRAIN_SECONDS (queued here, coalesced; a
    periodic sweep catches any lost run).
    """
    event_stage(
        actor=user,
        action="regulator.viewed",
        subject=("page", path[:64]),
        data={"method": method, "path": path, "query": query[:1000], "status": status},
    )
    enqueue_coalesced(
        "audit.staged_events_drain", key="audit:staged-events-drain", seconds=settings.AUDIT_STAGED_DRAIN_SECONDS
    )


def event_stage(*, actor: Any, action: str, subject: models.Model | tuple[str, Any], data: dict[str, Any]) -> None:
    """Stage an event for the log (one INSERT, no head lock); its sequence number comes when it is drained.

    For records that may trail the change by a second (reads); a state change
    writes its event in its own transaction with event_record instead.
    """
    who = Actor.of(actor)
    subject_type, subject_id = subject_of(subject)
    StagedEvent.objects.create(
        staged_at=timezone.now(),
        actor_id=who.id,
        actor=who.name,
        role=who.role,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        data=normalise_data(data),
        request_id=_context_request_id(),
    )


DRAIN_BATCH = 5000


def staged_events_drain(*, batch: int = DRAIN_BATCH) -> int:
    """Append staged events to the log, oldest first, `batch` per transaction; return how many.

    Each batch: its staged rows locked (SKIP LOCKED, so two drains share the
    work), one head lock, the events written with COPY, the rows deleted, one
    commit. The events' time is the time they enter the log (times rise with
    seq); the reads they record happened at most a drain interval earlier.
    """
    drained = 0
    while True:
        with transaction.atomic(durable=True):
            staged = list(StagedEvent.objects.select_for_update(skip_locked=True).order_by("id")[:batch])
            if not staged:
                return drained
            _staged_append(staged)
            StagedEvent.objects.filter(pk__in=[row.pk for row in staged]).delete()
        drained += len(staged)
        if len(staged) < batch:
            return drained


def _staged_append(staged: list[StagedEvent]) -> None:
    """Append staged rows to the log under the head lock (caller's transaction)."""
    head = head_lock()
    now = timezone.now()
    created_at = format_time(now)
    tree = LeafAppender(head)
    encoders: dict[tuple[int | None, str, str, str], EntryEncoder] = {}
    items = []
    for staged_row in staged:
        who = (staged_row.actor_id, staged_row.actor, staged_row.role, staged_row.request_id)
        encoder = encoders.get(who)
        if encoder is None:
            encoder = encoders[who] = EntryEncoder(
                created_at=created_at, actor_id=who[0], actor=who[1], role=who[2], request_id=who[3]
            )
        row = EventRow(
            tree.size + 1,
            staged_row.action,
            staged_row.subject_type,
            staged_row.subject_id,
            data_canonical(staged_row.data),
        )
        tree.add(
            encoder.entry(
                seq=row.seq,
                action=row.action,
                subject_type=row.subject_type,
                subject_id=row.subject_id,
                data_json=row.data_json,
            )
        )
        items.append((row, now, *who))
    events_write_each(items)
    tree.flush()
