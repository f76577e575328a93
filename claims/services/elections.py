"""Elections: how each claimant is paid, chosen by a deadline, with a default for those who do not choose.

Per incident: the methods offered (bank always; in kind with
`allows_in_kind`; the exchange account with `offers_exchange_account`), a
default method and an election deadline. A claim filed without a choice gets
the default (`PayoutChoice.source = default`). Customers who have not chosen
are reminded ELECTION_REMINDER_DAYS before the deadline (once each); at the
deadline (celery beat, `elections_follow_up`) the remaining defaults are locked
in and the customers told. Changes are refused after the deadline, and, as
before, once the claim is approved. Only the exchange account can be a
default: it is the one method that needs no details from the customer.
"""

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import Actor, EventInput, event_record, events_record
from claims.models import Claim, ElectionReminder, Incident, PayoutChoice
from claims.services._shared import notify_many
from core.errors import ApplicationError, InvalidInput
from core.locks import locked, locked_skipping
from core.types import User

CHUNK = 1000
ACTOR = Actor.system("claims.elections_follow_up")


def election_resolve(*, incident: Incident, method: str) -> dict[str, Any] | None:
    """The exchange-account choice, or the default when no method is given; None: bank and in kind, as before."""
    if method == PayoutChoice.Method.EXCHANGE:
        if not incident.offers_exchange_account:
            raise ApplicationError(
                "method_not_offered",
                _("Incident %(code)s does not pay into exchange accounts.") % {"code": incident.code},
            )
        return {"method": PayoutChoice.Method.EXCHANGE, "addresses": {}}
    if not method:
        if incident.default_payout_method != PayoutChoice.Method.EXCHANGE:
            raise InvalidInput(
                "invalid", _("Choose how to be paid."), extra={"fields": {"payout.method": [_("required")]}}
            )
        return {"method": PayoutChoice.Method.EXCHANGE, "addresses": {}, "source": PayoutChoice.Source.DEFAULT}
    return None


def election_check_open(*, claim: Claim) -> None:
    """Refuse a change of payout method after the incident's election deadline (422)."""
    deadline = claim.incident.election_deadline
    if deadline is not None and timezone.now() >= deadline:
        raise ApplicationError(
            "election_closed",
            _("The deadline to choose how to be paid (%(deadline)s) has passed.")
            % {"deadline": timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M")},
        )


@transaction.atomic(durable=True)
def incident_election_configure(
    *,
    actor: User | Actor,
    incident: Incident,
    offers_exchange_account: bool,
    default_payout_method: str,
    election_deadline: dt.datetime | None,
) -> Incident:
    """Set the methods offered, the default and the deadline (before the deadline has passed)."""
    incident = locked(Incident.objects).get(pk=incident.pk)
    if incident.election_closed_at is not None:
        raise ApplicationError("election_closed", _("The election of this incident is closed."))
    if default_payout_method not in ("", PayoutChoice.Method.EXCHANGE):
        raise InvalidInput(
            "invalid",
            _("Only the exchange account can be the default: it needs no details from the customer."),
            extra={"fields": {"default_payout_method": [_("exchange or empty")]}},
        )
    if default_payout_method and not offers_exchange_account:
        raise InvalidInput(
            "invalid",
            _("The default method must be one the incident offers."),
            extra={"fields": {"default_payout_method": [_("not offered")]}},
        )
    if election_deadline is not None and timezone.is_naive(election_deadline):
        raise InvalidInput(
            "invalid",
            _("A timezone-aware deadline is required."),
            extra={"fields": {"deadline": [_("needs a time zone")]}},
        )
    before = {
        "offers_exchange_account": incident.offers_exchange_account,
        "default_payout_method": incident.default_payout_method,
        "election_deadline": incident.election_deadline.isoformat() if incident.election_deadline else None,
    }
    incident.offers_exchange_account = offers_exchange_account
    incident.default_payout_method = default_payout_method
    incident.election_deadline = election_deadline
    incident.save(update_fields=["offers_exchange_account", "default_payout_method", "election_deadline", "updated_at"])
    after = {
        "offers_exchange_account": offers_exchange_account,
        "default_payout_method": default_payout_method,
        "election_deadline": election_deadline.isoformat() if election_deadline else None,
    }
    event_record(
        actor=actor, action="incident.election_configured", subject=incident, data={"before": before, "after": after}
    )
    return incident


def _undecided(incident: Incident) -> QuerySet[Claim]:
    return Claim.objects.filter(incident=incident, payout__source=PayoutChoice.Source.DEFAULT).exclude(
        status=Claim.Status.REJECTED
    )


def elections_follow_up(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Beat: remind undecided customers before the deadline (once each); lock the defaults in at the deadline."""
    now = now or timezone.now()
    return {"reminded": _reminders_send(now), "defaulted": _defaults_lock_in(now)}


def _reminders_send(now: dt.datetime) -> int:
    """Remind the undecided claimants of incidents whose deadline is near, each once; returns how many."""
    reminded = 0
    horizon = now + dt.timedelta(days=settings.ELECTION_REMINDER_DAYS)
    for incident in Incident.objects.filter(
        election_deadline__gt=now, election_deadline__lte=horizon, election_closed_at__isnull=True
    ):
        ids = list(
            _undecided(incident).filter(election_reminder__isnull=True).order_by("pk").values_list("pk", flat=True)
        )
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            with transaction.atomic(durable=True):
                ElectionReminder.objects.bulk_create(
                    [ElectionReminder(claim_id=pk, sent_at=now) for pk in chunk], ignore_conflicts=True
                )
                fresh = list(
                    ElectionReminder.objects.filter(claim_id__in=chunk, sent_at=now).values_list("claim_id", flat=True)
                )
                if fresh:
                    notify_many(fresh, "election_reminder")
                    event_record(
                        actor=ACTOR,
                        action="incident.election_reminders_sent",
                        subject=incident,
                        data={"count": len(fresh), "deadline": _iso(incident.election_deadline)},
                    )
                reminded += len(fresh)
    return reminded


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _defaults_lock_in(now: dt.datetime) -> int:
    """Close the elections past their deadline: the undecided keep the default, and are told; returns how many."""
    defaulted = 0
    for incident_id in Incident.objects.filter(election_deadline__lte=now, election_closed_at__isnull=True).values_list(
        "pk", flat=True
    ):
        with transaction.atomic(durable=True):
            incident = locked_skipping(Incident.objects).filter(pk=incident_id, election_closed_at__isnull=True).first()
            if incident is None:
                continue
            rows = list(_undecided(incident).order_by("pk").values_list("pk", "ref"))
            events_record(
                actor=ACTOR,
                events=[
                    EventInput(
                        "claims.payout_defaulted",
                        "claims.incident",
                        str(incident.pk),
                        {
                            "incident_code": incident.code,
                            "method": incident.default_payout_method,
                            "count": len(chunk),
                            "claims": [ref for _, ref in chunk],
                        },
                    )
                    for chunk in (rows[i : i + CHUNK] for i in range(0, len(rows), CHUNK))
                ],
            )
            incident.election_closed_at = now
            incident.save(update_fields=["election_closed_at", "updated_at"])
            event_record(
                actor=ACTOR,
                action="incident.election_closed",
                subject=incident,
                data={"defaulted": len(rows), "method": incident.default_payout_method},
            )
            if rows:
                notify_many([pk for pk, _ in rows], "election_defaulted")
            defaulted += len(rows)
    return defaulted
