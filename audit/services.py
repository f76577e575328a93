"""Writing the audit trail. Every state change calls event_record in its own transaction."""

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone

from audit.context import current_task, request_or_task_id
from audit.log.append import EventRow, LeafAppender, events_write, head_lock
from audit.log.entries import EntryEncoder, data_canonical, format_time
from audit.models import Event
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
