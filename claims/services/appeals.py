"""Appeals: a customer appeals a rejection or a cut once; someone new to the claim decides it."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import StaffAccount, StaffMember
from audit.services import event_record
from claims.models import Claim, ClaimAction, ClaimAppeal, ClaimApproval, Customer
from claims.services._shared import PAYOUT_LOCKED, claim_lock_for_customer, notify, timeline_add
from claims.services.holdbacks import holdbacks_push
from core.errors import ApplicationError, Conflict, InvalidInput
from core.roles import Role
from core.types import User


def appeal_participants(claim: Claim, *, review_round: int) -> set[int]:
    """Staff member ids of the people who acted on the claim in a round (decisions and approvals)."""
    acted = set(
        ClaimAction.objects.filter(claim=claim, review_round=review_round).values_list("actor_member_id", flat=True)
    )
    approved = set(
        ClaimApproval.objects.filter(claim=claim, review_round=review_round).values_list(
            "approver_member_id", flat=True
        )
    )
    return acted | approved


def _appeal_reviewer(claim: Claim) -> User | None:
    """The reviewer with the fewest open appeals among the people who took no part in the first decision
    (and are not the claimant)."""
    excluded = appeal_participants(claim, review_round=0)
    user_id = claim.customer.user_id
    claimant = (
        StaffAccount.objects.filter(user_id=user_id).values_list("member_id", flat=True).first() if user_id else None
    )
    if claimant is not None:
        excluded.add(claimant)
    return (
        get_user_model()
        .objects.filter(groups__name=Role.REVIEWER, is_active=True, staff_account__member__active=True)
        .exclude(staff_account__member_id__in=excluded)
        .annotate(
            open_appeals=Count(
                "claim_assignments",
                filter=Q(claim_assignments__review_round=1) & ~Q(claim_assignments__status__in=["approved", "paid"]),
            )
        )
        .order_by("open_appeals", "pk")
        .first()
    )


def claim_is_appealable(claim: Claim) -> bool:
    """A rejection, or an approval that cut a claimed quantity, can be appealed once, within CLAIM_APPEAL_DAYS."""
    if claim.review_round > 0 or hasattr(claim, "appeal"):
        return False
    if claim.appeal_until is None or claim.appeal_until <= timezone.now():
        return False
    if claim.status == Claim.Status.REJECTED:
        return True
    return claim.status in PAYOUT_LOCKED and any(line.is_cut for line in claim.lines.all())


@transaction.atomic(durable=True)
def claim_appeal(*, customer: Customer, claim: Claim, reason: str) -> Claim:
    """Appeal a rejection or an adjustment, once, with a reason; a reviewer new to the claim takes it."""
    claim = claim_lock_for_customer(customer=customer, claim=claim)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("invalid", _("Say why you appeal."), extra={"fields": {"reason": [_("required")]}})
    if hasattr(claim, "appeal") or claim.review_round > 0:
        raise Conflict(
            "already_appealed",
            _("Claim %(ref)s was appealed already; a claim can be appealed once.") % {"ref": claim.ref},
        )
    if not claim_is_appealable(claim):
        raise ApplicationError(
            "not_appealable",
            _("Claim %(ref)s can be appealed only after a rejection or an adjustment.") % {"ref": claim.ref},
        )
    before = claim.status
    ClaimAppeal.objects.create(claim=claim, reason=reason)
    if before in PAYOUT_LOCKED:
        # Remember what the approval paid for: the appeal may raise quantities, or be turned down.
        claim.lines.update(decided_quantity=F("approved_quantity"))
    claim.appealed_from = before
    claim.status = Claim.Status.APPEALED
    claim.review_round = 1
    claim.batch = None
    claim.appeal_until = None
    claim.assigned_reviewer = _appeal_reviewer(claim)
    claim.save(
        update_fields=[
            "appealed_from",
            "status",
            "review_round",
            "batch",
            "appeal_until",
            "assigned_reviewer",
            "updated_at",
        ]
    )
    holdbacks_push(claims=[claim])
    timeline_add(claim, Claim.Status.APPEALED, reason)
    event_record(
        actor=customer.user,
        action="claim.appealed",
        subject=claim,
        data={
            "before": {"status": before},
            "after": {"status": claim.status, "assigned_reviewer": getattr(claim.assigned_reviewer, "username", "")},
            "reason": reason,
        },
    )
    notify(claim, "appealed")
    return claim


def check_appeal_independence(claim: Claim, member: StaffMember) -> None:
    """In an appeal round nobody who took part in the first decision may act (compared by person)."""
    if claim.review_round > 0 and member.pk in appeal_participants(claim, review_round=0):
        raise ApplicationError(
            "four_eyes",
            _("You took part in the first decision on %(ref)s; the appeal needs someone else.") % {"ref": claim.ref},
        )
