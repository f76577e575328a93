"""Invitations: every affected customer is emailed once when an incident opens (workers share the batches)."""

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit.services import EventInput, event_record, events_record
from claims import notifications
from claims.models import ActivationToken, Customer, Incident, Invitation
from core.bulk import rows_insert, sql_time
from core.locks import locked_skipping
from core.lookups import any_of


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def activation_token_create(customer: Customer) -> str:
    """A new one-time activation token (only its hash is stored). Caller's transaction."""
    return activation_tokens_create([customer.pk])[customer.pk]


def activation_tokens_create(customer_ids: list[int]) -> dict[int, str]:
    """A new one-time activation token per customer, in one INSERT (only hashes are stored). Caller's transaction."""
    now = timezone.now()
    expires = now + dt.timedelta(days=settings.ACTIVATION_TOKEN_DAYS)
    tokens = {pk: secrets.token_urlsafe(32) for pk in customer_ids}
    count = len(tokens)
    # Columns, not model instances: building 500 instances per invitation batch cost more than the INSERT.
    rows_insert(
        model=ActivationToken,
        columns={
            "customer_id": list(tokens),
            "token_hash": [token_hash(token) for token in tokens.values()],
            "created_at": [now] * count,
            "expires_at": [expires] * count,
        },
    )
    return tokens


@transaction.atomic(durable=True)
def invitations_prepare(*, incident_id: int) -> int:
    """Record a pending invitation for every affected customer not yet invited; returns how many are pending.

    Safe to run twice: the (incident, customer) pair is unique and existing rows are left alone.
    """
    incident = Incident.objects.get(pk=incident_id)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO claims_invitation (incident_id, customer_id, status, created_at) "
            "SELECT DISTINCT %s, h.customer_id, 'pending', %s FROM claims_holding h "
            "JOIN claims_incidentasset a ON a.id = h.asset_id WHERE a.incident_id = %s "
            "ON CONFLICT (incident_id, customer_id) DO NOTHING",
            [incident.pk, sql_time(now), incident.pk],
        )
        created = cursor.rowcount
    if created:
        event_record(
            actor=None, action="invitations.prepared", subject=incident, data={"after": {"invitations": created}}
        )
    return Invitation.objects.filter(incident=incident, status=Invitation.Status.PENDING).count()


@dataclass(frozen=True)
class InvitationMail:
    invitation_id: int
    customer_id: int
    email: str
    name: str
    language: str
    token: str | None  # None: the customer has a login already


# What a batch reads of each pending invitation, as plain values (model instances cost more than the mail's rows).
_MAIL_COLUMNS = (
    "pk",
    "customer_id",
    "customer__email",
    "customer__name",
    "customer__language",
    "customer__account_id",
    "customer__user_id",
)


def pending_batch(*, incident_id: int, batch_size: int) -> QuerySet:
    """The next pending invitations in id order, locked skipping those another worker holds (_MAIL_COLUMNS)."""
    return (
        locked_skipping(Invitation.objects)
        .filter(incident_id=incident_id, status=Invitation.Status.PENDING)
        .order_by("pk")
        .values_list(*_MAIL_COLUMNS, named=True)[:batch_size]
    )


def _invitations_claim(*, incident_id: int, batch_size: int) -> list[InvitationMail]:
    """Take up to batch_size pending invitations (SKIP LOCKED), mark them sending, and commit."""
    with transaction.atomic(durable=True):
        rows = list(pending_batch(incident_id=incident_id, batch_size=batch_size))
        if not rows:
            return []
        tokens = activation_tokens_create([row.customer_id for row in rows if row.customer__user_id is None])
        mails = [
            InvitationMail(
                invitation_id=row.pk,
                customer_id=row.customer_id,
                email=row.customer__email,
                name=row.customer__name,
                language=row.customer__language,
                token=tokens.get(row.customer_id),  # None: the customer has a login already
            )
            for row in rows
        ]
        Invitation.objects.filter(any_of("pk", [row.pk for row in rows])).update(status=Invitation.Status.SENDING)
        events_record(
            actor=None,
            events=[
                EventInput(
                    "invitation.sending",
                    "claims.incident",
                    str(incident_id),
                    {"after": {"accounts": [row.customer__account_id for row in rows]}},
                )
            ],
        )
    return mails


def invitations_send_batch(*, incident_id: int, batch_size: int) -> int:
    """Email one batch of pending invitations; returns how many were sent (0: none left).

    Each invitation is marked `sending` and committed before its email goes out,
    so a second run or a second worker never emails the same customer twice. If
    sending fails, the invitations already sent are marked sent, the one whose
    send failed stays `sending` (it may have gone out: at most once, visible to
    staff), the rest go back to `pending` for the retry; then the error is raised.
    """
    mails = _invitations_claim(incident_id=incident_id, batch_size=batch_size)
    if not mails:
        return 0
    incident = Incident.objects.get(pk=incident_id)
    messages = notifications.invitation_messages(incident=incident, mails=mails)
    sent: list[int] = []
    attempted: int | None = None
    try:
        with get_connection() as mailer:
            for invitation_id, message in messages:
                attempted = invitation_id
                mailer.send_messages([message])
                sent.append(invitation_id)
                attempted = None
    finally:
        if sent:
            Invitation.objects.filter(pk__in=sent).update(status=Invitation.Status.SENT, sent_at=timezone.now())
        untouched = [pk for pk, _ in messages if pk not in sent and pk != attempted]
        if untouched:
            Invitation.objects.filter(pk__in=untouched).update(status=Invitation.Status.PENDING)
    return len(sent)


@transaction.atomic(durable=True)
def invitations_release_sending(*, incident_id: int) -> int:
    """Operator's choice: invitations stuck in `sending` go back to `pending` (their email may have gone out)."""
    released = Invitation.objects.filter(incident_id=incident_id, status=Invitation.Status.SENDING).update(
        status=Invitation.Status.PENDING
    )
    if released:
        event_record(
            actor=None,
            action="invitations.released",
            subject=("claims.incident", incident_id),
            data={"after": {"released": released}},
        )
    return released
