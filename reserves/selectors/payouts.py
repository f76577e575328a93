"""Reads of payouts for staff: the filtered, sorted list, one payout, one recovery claim."""

from django.db.models import Q, QuerySet

from core.errors import NotFound
from reserves.models import Payout, RecoveryClaim

PAYOUT_SORTS = {
    "newest": "-id",
    "oldest": "id",
    "amount": "-amount_jpy",
    "attempts": "-attempts",
    "claim": "claim_ref",
}


def payout_list(
    *,
    incident_code: str | None = None,
    status: str | None = None,
    method: str | None = None,
    rail: str | None = None,
    search: str | None = None,
    sort: str | None = None,
) -> QuerySet[Payout]:
    queryset = Payout.objects.select_related("fund", "allocation", "entitlement")
    if incident_code:
        queryset = queryset.filter(fund__incident_code=incident_code)
    if status:
        queryset = queryset.filter(status=status)
    if method:
        queryset = queryset.filter(method=method)
    if rail:
        queryset = queryset.filter(rail=rail)
    if search:
        queryset = queryset.filter(
            Q(claim_ref__icontains=search) | Q(entitlement__customer_account_id__icontains=search)
        )
    return queryset.order_by(PAYOUT_SORTS.get(sort or "newest", "-id"))


def payout_get(*, payout_id: int) -> Payout:
    payout = Payout.objects.select_related("fund", "allocation", "entitlement").filter(pk=payout_id).first()
    if payout is None:
        raise NotFound("not_found", "No such payout.")
    return payout


def recovery_get(*, recovery_id: int) -> RecoveryClaim:
    recovery = RecoveryClaim.objects.select_related("fund", "policy").filter(pk=recovery_id).first()
    if recovery is None:
        raise NotFound("not_found", "No such recovery claim.")
    return recovery
