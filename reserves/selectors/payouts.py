"""Reads of payouts for staff: the filtered, sorted list, one payout, one recovery claim."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

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
        raise NotFound("not_found", _("No such payout."))
    return payout


@dataclass(frozen=True)
class RecoveryDeadline:
    recovery: RecoveryClaim
    step: str  # "notice" or "proof of loss"
    due_at: dt.datetime
    overdue: bool


def recovery_deadlines(*, now: dt.datetime | None = None) -> list[RecoveryDeadline]:
    """Notice and proof-of-loss steps due within RECOVERY_WARN_DAYS or past, soonest first (the alerts)."""
    now = now or timezone.now()
    horizon = now + dt.timedelta(days=settings.RECOVERY_WARN_DAYS)
    due = RecoveryClaim.objects.filter(
        Q(status=RecoveryClaim.Status.OPEN, notice_due_at__lte=horizon)
        | Q(status=RecoveryClaim.Status.NOTIFIED, proof_due_at__lte=horizon)
    ).select_related("fund", "policy")
    deadlines = []
    for recovery in due:
        notice = recovery.status == RecoveryClaim.Status.OPEN
        due_at = recovery.notice_due_at if notice else recovery.proof_due_at
        deadlines.append(RecoveryDeadline(recovery, "notice" if notice else "proof of loss", due_at, due_at < now))
    return sorted(deadlines, key=lambda d: d.due_at)


def recovery_missing_steps(*, recovery: RecoveryClaim) -> list[str]:
    """What must be recorded before the insurer's money can be taken: "notice", "proof_of_loss" (in order)."""
    missing = [] if recovery.notice_sent_at else ["notice"]
    return missing if recovery.proof_submitted_at else [*missing, "proof_of_loss"]


def recovery_get(*, recovery_id: int) -> RecoveryClaim:
    recovery = RecoveryClaim.objects.select_related("fund", "policy").filter(pk=recovery_id).first()
    if recovery is None:
        raise NotFound("not_found", _("No such recovery claim."))
    return recovery
