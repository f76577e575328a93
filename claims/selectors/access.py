"""Reads for "the owner or staff": a claim, its evidence files and its payout receipts (404 for anyone else)."""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _

from audit.models import Receipt
from claims.models import Claim, Evidence
from claims.selectors.customer import claim_get_for_customer, customer_for_user
from claims.selectors.staff import claim_get_for_staff
from core.errors import NotFound
from core.roles import is_staff_member
from core.types import User
from reserves.selectors import receipts as payout_receipts
from reserves.selectors.receipts import ReceiptSummary


def claim_for_user(*, user: User | AnonymousUser, ref: str) -> Claim:
    """Staff see any claim; a customer only their own (404 otherwise)."""
    if is_staff_member(user):
        return claim_get_for_staff(ref=ref)
    return claim_get_for_customer(customer=customer_for_user(user=user), ref=ref)


def evidence_get(*, user: User | AnonymousUser, claim: Claim, evidence_id: int) -> Evidence:
    """A file of a claim, for its owner or staff only (404 for everyone else)."""
    owner = getattr(claim.customer, "user_id", None) == getattr(user, "pk", object())
    if not (owner or is_staff_member(user)):
        raise NotFound("not_found", _("No such file."))
    evidence = Evidence.objects.filter(claim=claim, pk=evidence_id).first()
    if evidence is None:
        raise NotFound("not_found", _("No such file."))
    return evidence


def claim_receipts(*, claim: Claim) -> list[ReceiptSummary]:
    """The signed receipts of the claim's paid payouts (one per payout: a top-up has its own). Check access first."""
    return payout_receipts.payout_receipts_for_claim(claim_ref=claim.ref)


def claim_receipt_get(*, claim: Claim, receipt_id: str) -> Receipt:
    """One receipt of this claim's payouts; 404 for another claim's receipt. Check access to the claim first."""
    return payout_receipts.payout_receipt_for_claim(claim_ref=claim.ref, receipt_id=receipt_id)
