"""Reads for incidents, snapshots, holdings, claims and the review queue."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from audit.models import Receipt
from claims.models import (
    Claim,
    ClaimBatch,
    ClaimLine,
    Customer,
    Evidence,
    Holding,
    Incident,
    IncidentAsset,
    PayoutAddress,
    PayoutChoice,
)
from config.errors import NotFound
from config.roles import is_staff_member
from reserves import receipts as payout_receipts
from reserves.money import jpy_value
from reserves.receipts import ReceiptSummary


def incident_list(*, status: str | None = None) -> QuerySet[Incident]:
    incidents = Incident.objects.all()
    if status:
        incidents = incidents.filter(status=status)
    return incidents.select_related("snapshot").prefetch_related("assets")


def incident_get(*, code: str) -> Incident:
    try:
        return Incident.objects.select_related("snapshot").prefetch_related("assets").get(code=code)
    except Incident.DoesNotExist as exc:
        raise NotFound("not_found", f"No incident {code!r}.") from exc


def incident_list_for_customer(*, customer: Customer) -> QuerySet[Incident]:
    """Incidents open for claims in which this customer held something at the base time."""
    return (
        Incident.objects.filter(status=Incident.Status.OPEN, assets__holdings__customer=customer)
        .distinct()
        .order_by("-detected_at")
    )


def incident_get_for_customer(*, customer: Customer, code: str) -> Incident:
    """The incident if it affects this customer; otherwise 404, never 403, so nothing leaks."""
    incident = incident_list_for_customer(customer=customer).filter(code=code).first()
    if incident is None:
        raise NotFound("not_found", f"No incident {code!r}.")
    return incident


@dataclass(frozen=True)
class HoldingValue:
    symbol: str
    quantity: Decimal
    reference_price_jpy: Decimal | None
    price_source: str
    value_jpy: int | None


def holding_values_for_customer(*, customer: Customer, incident: Incident) -> list[HoldingValue]:
    """A customer's snapshot holdings in an incident, valued at the reference prices."""
    holdings = (
        Holding.objects.filter(customer=customer, asset__incident=incident)
        .select_related("asset")
        .order_by("asset__symbol")
    )
    return [
        HoldingValue(
            symbol=h.asset.symbol,
            quantity=h.quantity,
            reference_price_jpy=h.asset.reference_price_jpy,
            price_source=h.asset.price_source,
            value_jpy=None
            if h.asset.reference_price_jpy is None
            else jpy_value(h.quantity, h.asset.reference_price_jpy),
        )
        for h in holdings
    ]


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


def customer_for_user(*, user: object) -> Customer:
    """The customer record behind a logged-in customer user."""
    customer = Customer.objects.filter(user=user).first() if getattr(user, "is_authenticated", False) else None
    if customer is None:
        raise NotFound("not_found", "No customer account is linked to this login.")
    return customer


# ---------------------------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------------------------


def claim_list_for_customer(*, customer: Customer) -> QuerySet[Claim]:
    return Claim.objects.filter(customer=customer).select_related("incident").order_by("-submitted_at", "-id")


def claim_get_for_customer(*, customer: Customer, ref: str) -> Claim:
    """The customer's own claim; anyone else's is 404 (never 403), so nothing leaks."""
    claim = (
        Claim.objects.filter(customer=customer, ref=ref)
        .select_related("incident", "customer", "payout")
        .prefetch_related("lines__asset", "timeline", "evidence", "payout__addresses__asset")
        .first()
    )
    if claim is None:
        raise NotFound("not_found", f"No claim {ref!r}.")
    return claim


def claim_receipts(*, claim: Claim) -> list[ReceiptSummary]:
    """The signed receipts of the claim's paid payouts (one per payout: a top-up has its own). Check access first."""
    return payout_receipts.payout_receipts_for_claim(claim_ref=claim.ref)


def claim_receipt_get(*, claim: Claim, receipt_id: str) -> Receipt:
    """One receipt of this claim's payouts; 404 for another claim's receipt. Check access to the claim first."""
    return payout_receipts.payout_receipt_for_claim(claim_ref=claim.ref, receipt_id=receipt_id)


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
        raise NotFound("not_found", f"No claim {ref!r}.")
    return claim


def evidence_get(*, user: object, claim: Claim, evidence_id: int) -> Evidence:
    """A file of a claim, for its owner or staff only (404 for everyone else)."""
    owner = getattr(claim.customer, "user_id", None) == getattr(user, "pk", object())
    if not (owner or is_staff_member(user)):
        raise NotFound("not_found", "No such file.")
    evidence = Evidence.objects.filter(claim=claim, pk=evidence_id).first()
    if evidence is None:
        raise NotFound("not_found", "No such file.")
    return evidence


def claim_for_user(*, user: object, ref: str) -> Claim:
    """Staff see any claim; a customer only their own (404 otherwise)."""
    if is_staff_member(user):
        return claim_get_for_staff(ref=ref)
    return claim_get_for_customer(customer=customer_for_user(user=user), ref=ref)


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
        claims = claims.filter(Q(ref__iexact=term) | Q(customer__account_id__iexact=term))
    return claims


def claim_status_counts(*, filters: ReviewFilters) -> dict[str, int]:
    """How many claims per status under the same filters (status itself ignored)."""
    rows = _review_filter(Claim.objects.all(), filters).values("status").annotate(n=Count("pk")).order_by()
    counts = {status: 0 for status in Claim.Status.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def claim_other_claims(*, claim: Claim) -> QuerySet[Claim]:
    return Claim.objects.filter(customer_id=claim.customer_id).exclude(pk=claim.pk).select_related("incident")


def claim_batch_list(*, incident: str | None = None) -> QuerySet[ClaimBatch]:
    batches = ClaimBatch.objects.select_related("incident", "created_by", "approved_by")
    if incident:
        batches = batches.filter(incident__code=incident)
    return batches


def claim_batch_get(*, batch_id: int) -> ClaimBatch:
    batch = ClaimBatch.objects.select_related("incident", "created_by", "approved_by").filter(pk=batch_id).first()
    if batch is None:
        raise NotFound("not_found", f"No batch {batch_id}.")
    return batch


@dataclass(frozen=True)
class PayoutLine:
    symbol: str
    quantity: Decimal
    reference_price_jpy: Decimal
    value_jpy: int


@dataclass(frozen=True)
class ClaimPayoutDetail:
    """Everything a payout needs for one approved claim, with the full (unmasked) payout choice."""

    claim_id: int
    ref: str
    incident_code: str
    customer_account_id: str
    customer_name: str
    approved_amount_jpy: int
    lines: list[PayoutLine]
    payout: dict[str, Any]


def claim_payout_details(*, claim_ids: list[int]) -> list[ClaimPayoutDetail]:
    """For the payout side: approved claims by id (others are left out), lines at their decided quantities.

    Four flat queries whatever the count (the hand-off reads 5,000 claims at a time): no model instances.
    """
    ids = list(claim_ids)
    claims = list(
        Claim.objects.filter(pk__in=ids, status__in=[Claim.Status.APPROVED, Claim.Status.PAID])
        .order_by("pk")
        .values_list("pk", "ref", "incident__code", "customer__account_id", "customer__name", "approved_amount_jpy")
    )
    ids = [row[0] for row in claims]
    # Details changed within the cooling-off period are not used yet: those claims wait (the sweep returns).
    cooling = set(
        PayoutChoice.objects.filter(claim_id__in=ids, effective_at__gt=timezone.now()).values_list(
            "claim_id", flat=True
        )
    )
    claims = [row for row in claims if row[0] not in cooling]
    ids = [row[0] for row in claims]
    choices = {
        row[0]: row[1:]
        for row in PayoutChoice.objects.filter(claim_id__in=ids).values_list(
            "claim_id",
            "pk",
            "method",
            "bank_code",
            "bank_name",
            "branch_code",
            "branch_name",
            "account_type",
            "account_number",
            "holder_name_kana",
        )
    }
    in_kind = [choice[0] for choice in choices.values() if choice[1] == PayoutChoice.Method.IN_KIND]
    addresses: dict[int, dict[str, str]] = {}
    for choice_id, symbol, address in PayoutAddress.objects.filter(payout_id__in=in_kind).values_list(
        "payout_id", "asset__symbol", "address"
    ):
        addresses.setdefault(choice_id, {})[symbol] = address
    lines: dict[int, list[PayoutLine]] = {}
    for claim_id, symbol, decided, approved, price in (
        ClaimLine.objects.filter(claim_id__in=ids)
        .order_by("claim_id", "asset__symbol")
        .values_list("claim_id", "asset__symbol", "decided_quantity", "approved_quantity", "asset__reference_price_jpy")
    ):
        quantity = decided if decided is not None else approved
        lines.setdefault(claim_id, []).append(
            PayoutLine(
                symbol=symbol, quantity=quantity, reference_price_jpy=price, value_jpy=jpy_value(quantity, price)
            )
        )
    details = []
    for pk, ref, incident_code, account_id, name, approved_jpy in claims:
        choice_id, method, bank_code, bank_name, branch_code, branch_name, account_type, number, kana = choices[pk]
        if method == PayoutChoice.Method.BANK:
            payout = {
                "method": method,
                "bank_code": bank_code,
                "bank_name": bank_name,
                "branch_code": branch_code,
                "branch_name": branch_name,
                "account_type": account_type,
                "account_number": number,
                "holder_name_kana": kana,
            }
        else:
            payout = {"method": method, "addresses": addresses.get(choice_id, {})}
        details.append(
            ClaimPayoutDetail(
                claim_id=pk,
                ref=ref,
                incident_code=incident_code,
                customer_account_id=account_id,
                customer_name=name,
                approved_amount_jpy=approved_jpy,
                lines=lines.get(pk, []),
                payout=payout,
            )
        )
    return details
