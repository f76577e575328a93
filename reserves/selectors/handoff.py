"""Reads for claims (the hand-off): which claims reserves knows, at what amount, and which it paid."""

from django.db.models import Q, QuerySet, Sum

from core.lookups import any_of
from reserves.models import Entitlement, Payout


def entitlement_amounts(*, claim_refs: list[str]) -> dict[str, int]:
    """claim_ref -> eligible yen, for the given claims that have an entitlement."""
    amounts: dict[str, int] = {}
    for start in range(0, len(claim_refs), 5000):
        amounts.update(
            Entitlement.objects.filter(any_of("claim_ref", claim_refs[start : start + 5000])).values_list(
                "claim_ref", "eligible_jpy"
            )
        )
    return amounts


def paid_for_claims(*, claim_refs: list[str]) -> dict[str, int]:
    """claim_ref -> yen paid so far, for the given claims that have paid payouts (found through their entitlements)."""
    paid: dict[str, int] = {}
    for start in range(0, len(claim_refs), 5000):
        refs = claim_refs[start : start + 5000]
        # The status is tested inside the sum, not in WHERE: while payouts are being paid faster than the
        # statistics follow, the planner believes "paid" rare and scans every payout for it (225 ms a call
        # at 100,000); found by reference, through the entitlements' index, a call costs ~12 ms.
        rows = (
            Payout.objects.filter(any_of("entitlement__claim_ref", refs))
            .values("entitlement__claim_ref")
            .annotate(s=Sum("amount_jpy", filter=Q(status=Payout.Status.PAID)))
            .order_by()
            .values_list("entitlement__claim_ref", "s")
        )
        paid.update((ref, int(total)) for ref, total in rows if total is not None)
    return paid


def entitlements_by_ref() -> QuerySet[Entitlement]:
    """All entitlements, for callers that join them to their claims by reference (a subquery)."""
    return Entitlement.objects.all()


def paid_payouts() -> QuerySet[Payout]:
    """Payouts that reached their claimant, for callers that join them by claim reference."""
    return Payout.objects.filter(status=Payout.Status.PAID)
