"""Reads for staff: incidents and their snapshots, the review queue and its counts, batches, one claim in full."""

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import Claim, ClaimBatch, ClaimFigure, Customer, Incident, IncidentAsset, PayoutCorrection
from core.errors import NotFound


def incident_list(*, status: str | None = None) -> QuerySet[Incident]:
    incidents = Incident.objects.all()
    if status:
        incidents = incidents.filter(status=status)
    return incidents.select_related("snapshot").prefetch_related("assets")


def incident_get(*, code: str, assets: bool = True) -> Incident:
    """The incident with its snapshot (and its assets unless `assets` is False). NotFound for an unknown code."""
    incidents = Incident.objects.select_related("snapshot")
    try:
        return (incidents.prefetch_related("assets") if assets else incidents).get(code=code)
    except Incident.DoesNotExist as exc:
        raise NotFound("not_found", _("No incident %(code)s.") % {"code": code}) from exc


@dataclass(frozen=True)
class AssetSnapshotTotal:
    asset: IncidentAsset
    holders: int
    quantity: Decimal


def snapshot_totals(*, incident: Incident) -> list[AssetSnapshotTotal]:
    """Per asset: how many customers held it at the base time and how much in all."""
    rows = (
        IncidentAsset.objects.filter(incident=incident)
        .annotate(holders=Count("holdings"), total=Sum("holdings__quantity"))
        .order_by("symbol")
    )
    return [AssetSnapshotTotal(asset=a, holders=a.holders, quantity=a.total or Decimal(0)) for a in rows]


def claim_get_for_staff(*, ref: str) -> Claim:
    claim = (
        Claim.objects.filter(ref=ref)
        .select_related("incident", "customer", "payout", "assigned_reviewer", "batch")
        .prefetch_related(
            "lines__asset", "timeline", "evidence", "payout__addresses__asset", "actions__actor", "approvals__approver"
        )
        .first()
    )
    if claim is None:
        raise NotFound("not_found", _("No claim %(ref)s.") % {"ref": ref})
    return claim


def claim_other_claims(*, claim: Claim) -> QuerySet[Claim]:
    return Claim.objects.filter(customer_id=claim.customer_id).exclude(pk=claim.pk).select_related("incident")


REVIEW_SORTS = {
    "submitted": "submitted_at",
    "-submitted": "-submitted_at",
    "amount": "amount_jpy",
    "-amount": "-amount_jpy",
    "updated": "updated_at",
    "-updated": "-updated_at",
    "ref": "ref",
}


@dataclass(frozen=True)
class ReviewFilters:
    incident: str | None = None
    status: str | None = None
    disputed: bool | None = None
    matches_snapshot: bool | None = None
    amount_min: int | None = None
    amount_max: int | None = None
    older_than_days: int | None = None
    newer_than_days: int | None = None
    q: str | None = None
    assigned_to: int | None = None
    sort: str = "submitted"


_NO_FILTER = ReviewFilters(sort="")


def claim_list_for_review(*, filters: ReviewFilters) -> QuerySet[Claim]:
    """The review queue: filter by incident, status, disputed/matching, amount range, age; search; sort."""
    claims = Claim.objects.select_related("incident", "customer", "assigned_reviewer", "payout")
    claims = _review_filter(claims, filters)
    if filters.status:
        claims = claims.filter(status=filters.status)
    return claims.order_by(REVIEW_SORTS.get(filters.sort, "submitted_at"), "pk")


def _review_filter(claims: QuerySet[Claim], filters: ReviewFilters) -> QuerySet[Claim]:
    """Every filter but status (the per-status counts use the same ones)."""
    now = timezone.now()
    if filters.incident:
        claims = claims.filter(incident__code=filters.incident)
    if filters.disputed is not None:
        claims = claims.filter(disputed=filters.disputed)
    if filters.matches_snapshot is not None:
        claims = claims.filter(matches_snapshot=filters.matches_snapshot)
    if filters.amount_min is not None:
        claims = claims.filter(amount_jpy__gte=filters.amount_min)
    if filters.amount_max is not None:
        claims = claims.filter(amount_jpy__lte=filters.amount_max)
    if filters.older_than_days is not None:
        claims = claims.filter(submitted_at__lte=now - dt.timedelta(days=filters.older_than_days))
    if filters.newer_than_days is not None:
        claims = claims.filter(submitted_at__gte=now - dt.timedelta(days=filters.newer_than_days))
    if filters.assigned_to is not None:
        claims = claims.filter(assigned_reviewer_id=filters.assigned_to)
    if filters.q:
        term = filters.q.strip()
        # The customers first: an OR across the join can use no index and read every claim of every incident;
        # this way each side is an index lookup (claim_ref_upper_idx, customer_account_id_upper_idx).
        customers = list(Customer.objects.filter(account_id__iexact=term).values_list("pk", flat=True))
        claims = claims.filter(Q(ref__iexact=term) | Q(customer_id__in=customers))
    return claims


def claim_status_counts(*, filters: ReviewFilters) -> dict[str, int]:
    """How many claims per status under the same filters (status itself ignored).

    Filtered by incident alone (or not at all), PostgreSQL's kept figures answer in constant time
    (ClaimFigure); any other filter counts the claims that pass it.
    """
    counts = {status: 0 for status in Claim.Status.values}
    if connection.vendor == "postgresql" and replace(filters, incident=None, status=None, sort="") == _NO_FILTER:
        figures = ClaimFigure.objects.all()
        if filters.incident:
            figures = figures.filter(incident__code=filters.incident)
        kept = figures.values("status").annotate(n=Sum("count")).order_by()
        counts.update({row["status"]: int(row["n"]) for row in kept})
        return counts
    rows = _review_filter(Claim.objects.all(), filters).values("status").annotate(n=Count("pk")).order_by()
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def claim_batch_list(*, incident: str | None = None) -> QuerySet[ClaimBatch]:
    batches = ClaimBatch.objects.select_related("incident", "created_by", "approved_by")
    if incident:
        batches = batches.filter(incident__code=incident)
    return batches


def claim_batch_get(*, batch_id: int) -> ClaimBatch:
    batch = ClaimBatch.objects.select_related("incident", "created_by", "approved_by").filter(pk=batch_id).first()
    if batch is None:
        raise NotFound("not_found", _("No batch %(id)s.") % {"id": batch_id})
    return batch


def payout_correction_list(*, status: str) -> QuerySet[PayoutCorrection]:
    """Corrected payout details in one status (any unknown status: all), name mismatches first, oldest first."""
    corrections = PayoutCorrection.objects.select_related("claim", "claim__customer", "claim__incident")
    if status in PayoutCorrection.Status.values:
        corrections = corrections.filter(status=status)
    return corrections.order_by("-name_check", "requested_at")
