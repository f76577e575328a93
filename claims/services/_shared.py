"""Helpers the claims services share. Each assumes the caller's transaction (and, where it says so, its locks)."""

from decimal import Context, Decimal
from typing import Any

from django.utils.translation import gettext as _

from claims.models import QUANTITY_DECIMAL_PLACES, Claim, ClaimLine, ClaimTimelineEntry, Customer
from core.dispatch import enqueue_after_commit
from core.errors import ApplicationError, NotFound
from core.locks import locked
from core.money import jpy_value
from core.roles import Role, has_role
from core.types import User

# Statuses in which the claim is still being reviewed (evidence may be added, lines adjusted).
ACTIVE_REVIEW = (Claim.Status.SUBMITTED, Claim.Status.UNDER_REVIEW, Claim.Status.INFO_REQUESTED, Claim.Status.APPEALED)
# Statuses in which the payout choice is locked and an appeal may only raise quantities.
# Decided with an approval: the payout choice is locked, and a cut can be appealed from any of these.
PAYOUT_LOCKED = (Claim.Status.APPROVED, Claim.Status.PARTLY_PAID, Claim.Status.PAID, Claim.Status.CLOSED_NOTHING_DUE)
# Integer digits a quantity may have (numeric(38,18)).
QUANTITY_MAX_INTEGER_DIGITS = 20
_QUANTUM = Decimal(1).scaleb(-QUANTITY_DECIMAL_PLACES)
_WIDE = Context(prec=100)
# Customer emails about many claims (a bulk approval, payouts marked paid): one task per this many.
NOTIFY_CHUNK = 1000


def quantity_errors(value: object, *, lost: Decimal | None) -> str | None:
    """Why a claimed or approved quantity is unacceptable, or None."""
    if isinstance(value, bool) or not isinstance(value, Decimal) or not value.is_finite():
        return _("must be a decimal number")
    if value < 0:
        return _("must not be negative")
    if value >= Decimal(10) ** QUANTITY_MAX_INTEGER_DIGITS:
        return _("is too large")
    if value != value.quantize(_QUANTUM, context=_WIDE):
        return _("has more than %(places)s decimal places") % {"places": QUANTITY_DECIMAL_PLACES}
    if lost is not None and value > lost:
        return _("is more than the incident lost in all (%(lost)s)") % {"lost": f"{lost.normalize():f}"}
    return None


def lines_state(claim: Claim) -> list[dict[str, Any]]:
    """The claim's lines as audit data records them (before/after)."""
    return [
        {
            "asset": line.asset.symbol,
            "snapshot_quantity": line.snapshot_quantity,
            "claimed_quantity": line.claimed_quantity,
            "approved_quantity": line.approved_quantity,
        }
        for line in claim.lines.select_related("asset").order_by("asset__symbol")
    ]


def lines_state_of(lines: list[ClaimLine]) -> list[dict[str, Any]]:
    """lines_state of lines already in memory (with their assets), e.g. those a filing just wrote."""
    return [
        {
            "asset": line.asset.symbol,
            "snapshot_quantity": line.snapshot_quantity,
            "claimed_quantity": line.claimed_quantity,
            "approved_quantity": line.approved_quantity,
        }
        for line in sorted(lines, key=lambda line: line.asset.symbol)
    ]


def amounts_apply(claim: Claim, lines: list[ClaimLine]) -> None:
    """Set the lines' values and the claim's amount and flags from lines in memory (nothing is written)."""
    for line in lines:
        line.value_jpy = jpy_value(line.approved_quantity, line.asset.reference_price_jpy)
    claim.amount_jpy = sum(line.value_jpy for line in lines)
    claim.disputed = any(line.is_disputed for line in lines)
    claim.matches_snapshot = all(line.approved_quantity == line.snapshot_quantity for line in lines)


def amount_refresh(claim: Claim) -> None:
    """Recompute the lines' values and the claim's amount and flags. Caller holds the claim lock."""
    lines = list(claim.lines.select_related("asset"))
    amounts_apply(claim, lines)
    ClaimLine.objects.bulk_update(lines, ["value_jpy"])


def timeline_add(claim: Claim, status: str, note: str = "") -> ClaimTimelineEntry:
    """Append a customer-visible entry. Caller's transaction."""
    return ClaimTimelineEntry.objects.create(claim=claim, status=status, note=note)


def notify(claim: Claim, kind: str, note: str = "") -> None:
    """Email the customer about their claim after the transaction commits."""
    enqueue_after_commit("claims.claim_notify", claim.pk, kind, note)


def notify_many(claim_ids: list[int], kind: str) -> None:
    """Email many customers after commit, one task per NOTIFY_CHUNK claims."""
    for start in range(0, len(claim_ids), NOTIFY_CHUNK):
        enqueue_after_commit("claims.notify_many", list(claim_ids[start : start + NOTIFY_CHUNK]), kind)


def claim_lock_for_customer(*, customer: Customer, claim: Claim) -> Claim:
    """The customer's own claim, locked; anyone else's is 404."""
    row = locked(Claim.objects.select_related("incident")).filter(pk=claim.pk).first()
    if row is None or row.customer_id != customer.pk:
        raise NotFound("not_found", _("No such claim."))
    return row


def claim_lock_for_staff(claim: Claim) -> Claim:
    """The claim, locked, with its incident and customer."""
    return locked(Claim.objects.select_related("incident", "customer")).get(pk=claim.pk)


def require_role(actor: User, *roles: Role) -> None:
    """403 unless the actor has one of the roles (views check too; services do not trust them)."""
    if not has_role(actor, *roles):
        raise ApplicationError("forbidden", _("Your role may not do this."), status=403)
