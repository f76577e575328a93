"""Reading the audit trail: search, counts, signing keys, verification runs, regulators."""

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from audit import subjects
from audit.models import Event, SigningKey, VerificationRun
from core.roles import Role

VIEWED = "regulator.viewed"  # a regulator's own page view or API read (audit.middleware)


def event_list_for_subject(*, subject_type: str, subject_id: str) -> QuerySet[Event]:
    return Event.objects.filter(subject_type=subject_type, subject_id=str(subject_id)).order_by("seq")


def verification_latest() -> VerificationRun | None:
    return VerificationRun.objects.order_by("-ran_at", "-id").first()


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
    claim_ref: str = ""  # the events of a claim and of its payouts (audit.subjects finders)
    payout: str = ""  # the events of one payout, per-chunk events included
    hide_views: bool = False  # leave out the regulators' own page views (regulator.viewed)


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
    if filters.claim_ref:
        events = events.filter(subjects.search_q("claim", filters.claim_ref))
    if filters.payout:
        events = events.filter(subjects.search_q("payout", filters.payout))
    if filters.hide_views:
        events = events.exclude(action=VIEWED)
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


def regulator_list() -> QuerySet:
    """Logins with the regulator role."""
    return get_user_model().objects.filter(groups__name=Role.REGULATOR.value).order_by("username")
