"""What the regulator portal shows of an incident: claims, eligible loss, payouts, sources and speed.

Reads only. Claims come from this app, money from reserves' selectors (the
incident's fund); an incident without a fund yet (a draft) shows zeros.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy, pgettext, pgettext_lazy
from django.utils.translation import gettext as _

from claims.models import Claim, ClaimTimelineEntry, Incident, outstanding_of
from claims.selectors.staff import ReviewFilters, claim_status_counts, incident_get
from core.exports import Column
from core.read_cache import cached_for
from core.reports import Section
from reserves import selectors as reserve_selectors
from reserves.models import IncidentFund
from reserves.selectors import rails as rail_selectors
from reserves.waterfall import rate_of, rate_text

# "90% paid": the share of the eligible loss that marks a payout programme as substantially done.
PAID_MILESTONE = Decimal("0.9")


@dataclass(frozen=True)
class SourceBorne:
    key: str
    label: str
    planned_jpy: int
    received_jpy: int
    paid_jpy: int


@dataclass
class IncidentSummary:
    incident: Incident
    affected_customers: int
    claims_total: int
    claims_by_status: dict[str, int]
    eligible_loss_jpy: int
    loss_basis_jpy: int
    paid_jpy: int
    outstanding_jpy: int
    distribution_rate: Decimal
    paid_rate: Decimal
    sources: list[SourceBorne] = field(default_factory=list)
    first_paid_at: dt.datetime | None = None
    milestone_paid_at: dt.datetime | None = None
    paid_per_day: list[tuple[dt.date, int]] = field(default_factory=list)
    # Payouts that came back and wait for corrected details, and those past the deadline held for deposit (供託).
    returned_count: int = 0
    returned_jpy: int = 0
    unclaimed_count: int = 0
    unclaimed_jpy: int = 0
    as_of: dt.datetime = field(default_factory=timezone.now)  # when the figures were read

    def paid_every_day(self) -> list[tuple[dt.date, int]]:
        """Yen paid per day from the day of detection to the last payment, zero where nothing was paid."""
        start = timezone.localdate(self.incident.detected_at)
        paid = dict(self.paid_per_day)
        days = (max([start, *paid]) - start).days + 1
        return [(day, paid.get(day, 0)) for day in (start + dt.timedelta(days=n) for n in range(days))]

    @property
    def days_to_first_payout(self) -> Decimal | None:
        return _days_between(self.incident.detected_at, self.first_paid_at)

    @property
    def days_to_90_percent_paid(self) -> Decimal | None:
        return _days_between(self.incident.detected_at, self.milestone_paid_at)


def _days_between(start: dt.datetime, end: dt.datetime | None) -> Decimal | None:
    if end is None:
        return None
    days = Decimal((end - start).total_seconds()) / Decimal(86400)
    return days.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def incident_summary(*, code: str) -> IncidentSummary:
    """The regulator's summary of one incident, at most REGULATOR_SUMMARY_CACHE_SECONDS old (`as_of` says when
    it was read). NotFound for an unknown code.

    Many regulators reading at once share one computation per process and second; the labels are in
    the reader's language, so each language has its own.
    """
    return cached_for(
        f"regulator-summary:{code}:{get_language()}",
        settings.REGULATOR_SUMMARY_CACHE_SECONDS,
        lambda: _incident_summary_read(code=code),
    )


def _incident_summary_read(*, code: str) -> IncidentSummary:
    incident = incident_get(code=code, assets=False)
    snapshot = getattr(incident, "snapshot", None)
    by_status = claim_status_counts(filters=ReviewFilters(incident=incident.code))
    summary = IncidentSummary(
        incident=incident,
        affected_customers=snapshot.customer_count if snapshot else 0,
        claims_total=sum(by_status.values()),
        claims_by_status=by_status,
        eligible_loss_jpy=0,
        loss_basis_jpy=0,
        paid_jpy=0,
        outstanding_jpy=0,
        distribution_rate=Decimal(0),
        paid_rate=Decimal(0),
    )
    fund = IncidentFund.objects.filter(incident_code=incident.code).first()
    if fund is None:
        return summary
    funding = reserve_selectors.fund_figures(fund=fund)  # not the panel's per-round and per-payout lists
    paid_by_source = reserve_selectors.paid_by_source(fund=fund)
    summary.eligible_loss_jpy = funding.registered_jpy
    summary.loss_basis_jpy = funding.loss_basis_jpy
    summary.paid_jpy = funding.paid_jpy
    summary.outstanding_jpy = funding.outstanding_jpy
    summary.distribution_rate = funding.planned_rate
    summary.paid_rate = funding.paid_rate
    summary.sources = [
        SourceBorne(s.key, s.label, s.planned_jpy, s.received_jpy, paid_by_source.get(s.key, 0))
        for s in funding.sources
    ]
    milestone = int((Decimal(funding.registered_jpy) * PAID_MILESTONE).to_integral_value(rounding=ROUND_HALF_UP))
    timeline = reserve_selectors.paid_timeline(fund=fund, milestone_jpy=milestone)
    summary.first_paid_at, summary.milestone_paid_at = timeline.first_paid_at, timeline.reached_at
    summary.paid_per_day = timeline.per_day
    held = rail_selectors.unclaimed_for_fund(fund=fund)
    summary.returned_count, summary.returned_jpy = held["returned_count"], held["returned_jpy"]
    summary.unclaimed_count, summary.unclaimed_jpy = held["unclaimed_count"], held["unclaimed_jpy"]
    return summary


def incident_summaries() -> list[IncidentSummary]:
    """Every declared incident's summary, newest detection first (incidents are few; each is a handful of queries)."""
    return [incident_summary(code=code) for code in Incident.objects.values_list("code", flat=True)]


# --- Claims of an incident, with what each has been paid ---------------------------------------------------

CLAIM_STATUSES = [status for status, _label in Claim.Status.choices]


def incident_claims(*, code: str, status: str | None = None):
    """An incident's claims for the regulator, oldest first: amounts approved, paid so far and outstanding.

    A values() queryset (no model instances, no customer names), for pages,
    the cursor-paginated API and streamed exports alike.
    """
    incident = incident_get(code=code)
    claims = Claim.objects.filter(incident=incident)
    if status:
        claims = claims.filter(status=status)
    return claims.order_by("id").values(
        "id",
        "ref",
        "status",
        "amount_jpy",
        "approved_amount_jpy",
        "paid_jpy",
        "submitted_at",
        "approved_at",
        "paid_at",
        account_id=F("customer__account_id"),
    )


def claim_outstanding_jpy(row: dict) -> int:
    """Approved and not yet paid (0 before approval, when rejected or closed with nothing due)."""
    return outstanding_of(
        status=row["status"], approved_amount_jpy=row["approved_amount_jpy"], paid_jpy=row["paid_jpy"]
    )


def claim_paid_rate(row: dict) -> str:
    """Paid so far / approved, as a fixed-point string with ten places ("" before approval)."""
    approved = row["approved_amount_jpy"]
    if approved is None:
        return ""
    return rate_text(rate_of(row["paid_jpy"], approved))


# The incident's claims as a download; headers read as on regulator_incident_claims.html, in the reader's language.
CLAIM_COLUMNS = [
    Column("ref", label=pgettext_lazy("claim", "Reference")),
    Column("account_id", label=gettext_lazy("Account")),
    Column("status", label=gettext_lazy("Status")),
    Column("amount_jpy", label=pgettext_lazy("amount", "Claimed")),
    Column("approved_amount_jpy", label=gettext_lazy("Approved amount")),
    Column("paid_jpy", label=gettext_lazy("Paid so far")),
    Column("outstanding_jpy", claim_outstanding_jpy, label=gettext_lazy("Outstanding")),
    Column("paid_rate", claim_paid_rate, label=gettext_lazy("Rate received")),
    Column("submitted_at", lambda row: row["submitted_at"].isoformat(), label=gettext_lazy("Filed")),
    Column(
        "approved_at",
        lambda row: row["approved_at"].isoformat() if row["approved_at"] else "",
        label=gettext_lazy("Approved at"),
    ),
    Column("paid_at", lambda row: row["paid_at"].isoformat() if row["paid_at"] else "", label=gettext_lazy("Paid at")),
]


# --- Quarterly report -------------------------------------------------------------------------------


def claims_report_sections(*, start: dt.datetime, end: dt.datetime) -> list[Section]:
    """Incidents and claims in [start, end): incidents detected, and per incident what claims did in the quarter.

    In the active language; an incident's status is shown by its label.
    """
    detected = Incident.objects.filter(detected_at__gte=start, detected_at__lt=end).order_by("detected_at")
    moves = (
        ClaimTimelineEntry.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("claim__incident__code")
        .annotate(
            filed=Count("id", filter=Q(status=Claim.Status.SUBMITTED)),
            approved=Count("id", filter=Q(status=Claim.Status.APPROVED)),
            rejected=Count("id", filter=Q(status=Claim.Status.REJECTED)),
            appealed=Count("id", filter=Q(status=Claim.Status.APPEALED)),
            paid=Count("id", filter=Q(status=Claim.Status.PAID)),
        )
        .order_by("claim__incident__code")
    )
    standing = (
        Claim.objects.values("incident__code")
        .annotate(
            total=Count("id"),
            open=Count(
                "id",
                filter=~Q(status__in=[Claim.Status.PAID, Claim.Status.REJECTED, Claim.Status.CLOSED_NOTHING_DUE]),
            ),
            partly_paid=Count("id", filter=Q(status=Claim.Status.PARTLY_PAID)),
            paid=Count("id", filter=Q(status=Claim.Status.PAID)),
        )
        .order_by("incident__code")
    )
    return [
        Section(
            _("Incidents detected"),
            [_("code"), _("title"), _("status"), _("occurred at"), _("detected at")],
            [(i.code, i.title, i.get_status_display(), i.occurred_at, i.detected_at) for i in detected],
        ),
        Section(
            _("Claims: what happened in the quarter"),
            [
                _("incident"),
                pgettext("count", "filed"),
                pgettext("count", "approved"),
                pgettext("count", "rejected"),
                pgettext("count", "appealed"),
                pgettext("count", "paid"),
            ],
            [
                (m["claim__incident__code"], m["filed"], m["approved"], m["rejected"], m["appealed"], m["paid"])
                for m in moves
            ],
        ),
        Section(
            _("Claims: standing at the time of the report"),
            [
                _("incident"),
                pgettext("count", "claims"),
                _("not yet paid in full, rejected or closed"),
                _("of which partly paid"),
                _("paid in full"),
            ],
            [(s["incident__code"], s["total"], s["open"], s["partly_paid"], s["paid"]) for s in standing],
        ),
    ]
