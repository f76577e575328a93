"""Review and four-eyes approval of single claims: verify, adjust, ask, recommend (maker), approve (checker), reject.

The database enforces the same four-eyes rules (claims/migrations/0005).
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import StaffMember
from accounts.people import person_of, staff_member_require
from accounts.second_factor import second_factor_check
from audit.services import event_record
from claims.models import Claim, ClaimAction, ClaimApproval
from claims.services._shared import (
    ACTIVE_REVIEW,
    PAYOUT_LOCKED,
    amount_refresh,
    claim_lock_for_staff,
    lines_state,
    notify,
    quantity_errors,
    require_role,
    timeline_add,
)
from claims.services.appeals import appeal_participants, check_appeal_independence
from claims.services.handoff import hand_off_after_commit
from claims.services.holdbacks import holdbacks_push
from claims.services.holder_names import name_decision_missing
from claims.services.incidents import prices_lock_if_first
from core.errors import ApplicationError, Conflict, InvalidInput
from core.money import require_yen
from core.roles import Role, has_role
from core.types import User


@dataclass(frozen=True)
class LineAdjustment:
    symbol: str
    approved_quantity: Decimal


def required_approvals_for(amount_jpy: int) -> int:
    """Two distinct approvers above settings.CLAIM_SECOND_APPROVER_THRESHOLD_JPY, else one."""
    return 2 if require_yen(amount_jpy) > settings.CLAIM_SECOND_APPROVER_THRESHOLD_JPY else 1


# The one rule of which decision may be taken in which status by which role: the services enforce it
# (`_check_status`, `require_role`) and the pages and the API offer only what it allows (`claim_allowed_actions`).
_REVIEWERS = (Role.REVIEWER, Role.APPROVER, Role.ADMIN)
_TAKE_UP = (Claim.Status.SUBMITTED, Claim.Status.UNDER_REVIEW, Claim.Status.APPEALED)
DECISION_RULES: dict[str, tuple[tuple[str, ...], tuple[Role, ...]]] = {
    "verify": (_TAKE_UP, _REVIEWERS),
    "adjust": (ACTIVE_REVIEW, _REVIEWERS),
    "request_info": (_TAKE_UP, _REVIEWERS),
    "recommend": (_TAKE_UP, _REVIEWERS),
    "approve": ((Claim.Status.RECOMMENDED,), (Role.APPROVER, Role.ADMIN)),
    "reject": ((*ACTIVE_REVIEW, Claim.Status.RECOMMENDED), _REVIEWERS),
}
# Decisions that cannot be taken back: the pages ask for confirmation first.
IRREVERSIBLE_DECISIONS = frozenset({"approve", "reject"})


def approvals_needed(claim: Claim) -> int:
    """How many approvals the claim needs, known from the start (its amount against the threshold)."""
    return max(claim.required_approvals, required_approvals_for(claim.amount_jpy))


def claim_allowed_actions(claim: Claim, user: User) -> list[str]:
    """The decisions `user` may take on `claim` now, in DECISIONS order: what the page shows and the API lists.

    The same rule the services check (status and role from DECISION_RULES, four eyes, appeal independence);
    a service may still refuse for a reason that needs the claim's lock (a race with another reviewer).
    """
    allowed = [
        action
        for action, (statuses, roles) in DECISION_RULES.items()
        if claim.status in statuses and has_role(user, *roles)
    ]
    if not allowed:
        return []
    member = person_of(user)
    if member is None or not member.active or claimant_member_id(claim) == member.pk:
        return []
    if claim.review_round > 0 and member.pk in appeal_participants(claim, review_round=0):
        return []
    if "recommend" in allowed and not hasattr(claim, "payout"):
        allowed.remove("recommend")
    if "approve" in allowed and (
        not user.has_perm("claims.approve_claim")
        or member.pk in claim_makers(claim)
        or ClaimApproval.objects.filter(claim=claim, review_round=claim.review_round, approver_member=member).exists()
    ):
        allowed.remove("approve")
    return allowed


def claim_is_decided(claim: Claim) -> bool:
    """Whether approvers have decided the claim's quantities (what the customer may see as decided)."""
    return claim.approved_amount_jpy is not None


def claim_makers(claim: Claim) -> set[int]:
    """Staff member ids of the people who recommended or adjusted the claim (any round): they may never approve it."""
    return set(
        ClaimAction.objects.filter(
            claim=claim, kind__in=[ClaimAction.Kind.ADJUST, ClaimAction.Kind.RECOMMEND]
        ).values_list("actor_member_id", flat=True)
    )


def claimant_member_id(claim: Claim) -> int | None:
    """The staff member whose customer login filed the claim (None: the claimant is nobody on the staff)."""
    return Claim.objects.filter(pk=claim.pk).values_list("customer__user__staff_account__member_id", flat=True).first()


def decider(actor: User, claim: Claim) -> StaffMember:
    """The person deciding: the login's staff member (403 without one), never the claimant (403 own_claim)."""
    member = staff_member_require(actor)
    if claimant_member_id(claim) == member.pk:
        raise ApplicationError(
            "own_claim", _("%(ref)s is your own claim; someone else must decide it.") % {"ref": claim.ref}, status=403
        )
    return member


def _action_record(
    *, claim: Claim, actor: User, kind: str, reason: str = "", before: dict | None = None, after: dict | None = None
) -> None:
    """The decision row (read by the four-eyes triggers) and its audit event. Caller holds the claim lock."""
    member = decider(actor, claim)
    ClaimAction.objects.create(
        claim=claim, actor=actor, actor_member=member, kind=kind, review_round=claim.review_round, reason=reason
    )
    event_record(
        actor=actor,
        action=f"claim.{kind}",
        subject=claim,
        data={"before": before or {}, "after": after or {}, "reason": reason},
    )


def _check_may(actor: User, action: str) -> None:
    require_role(actor, *DECISION_RULES[action][1])


def _check_status(claim: Claim, action: str, what: str) -> None:
    if claim.status not in DECISION_RULES[action][0]:
        raise ApplicationError(
            "invalid_transition",
            _("Claim %(ref)s is %(status)s; it cannot be %(what)s.")
            % {"ref": claim.ref, "status": claim.get_status_display(), "what": what},
        )


@transaction.atomic(durable=True)
def claim_verify(*, actor: User, claim: Claim, reason: str = "") -> Claim:
    """A reviewer takes the claim up (submitted or appealed -> under review)."""
    _check_may(actor, "verify")
    claim = claim_lock_for_staff(claim)
    _check_status(claim, "verify", _("verified"))
    check_appeal_independence(claim, decider(actor, claim))
    before = claim.status
    if claim.status != Claim.Status.UNDER_REVIEW:
        claim.status = Claim.Status.UNDER_REVIEW
        claim.save(update_fields=["status", "updated_at"])
        timeline_add(claim, Claim.Status.UNDER_REVIEW)
    _action_record(
        claim=claim,
        actor=actor,
        kind=ClaimAction.Kind.VERIFY,
        reason=reason,
        before={"status": before},
        after={"status": claim.status},
    )
    return claim


@transaction.atomic(durable=True)
def claim_line_adjust(*, actor: User, claim: Claim, adjustments: list[LineAdjustment], reason: str) -> Claim:
    """Change approved quantities (reason required, shown to the customer). The adjuster can never approve."""
    _check_may(actor, "adjust")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            "invalid", _("A reason is required to adjust a line."), extra={"fields": {"reason": [_("required")]}}
        )
    if not adjustments:
        raise InvalidInput("invalid", _("Name a line to adjust."), extra={"fields": {"lines": [_("required")]}})
    claim = claim_lock_for_staff(claim)
    _check_status(claim, "adjust", _("adjusted"))
    check_appeal_independence(claim, decider(actor, claim))
    lines = {line.asset.symbol: line for line in claim.lines.select_related("asset")}
    fields: dict[str, list[str]] = {}
    for i, adjustment in enumerate(adjustments):
        line = lines.get(adjustment.symbol)
        if line is None:
            fields[f"lines[{i}].asset"] = [
                _("claim %(ref)s has no %(symbol)s line") % {"ref": claim.ref, "symbol": adjustment.symbol}
            ]
            continue
        problem = quantity_errors(adjustment.approved_quantity, lost=line.asset.quantity_lost)
        if problem:
            fields[f"lines[{i}].approved_quantity"] = [problem]
        elif claim.appealed_from in PAYOUT_LOCKED and adjustment.approved_quantity < line.approved_quantity:
            # Money already promised is not taken back by an appeal the customer made.
            fields[f"lines[{i}].approved_quantity"] = [_("an appeal cannot lower an approved quantity")]
    if fields:
        raise InvalidInput(
            "invalid", _("Invalid input: %(fields)s.") % {"fields": ", ".join(fields)}, extra={"fields": fields}
        )
    before = lines_state(claim)
    for adjustment in adjustments:
        line = lines[adjustment.symbol]
        line.approved_quantity = adjustment.approved_quantity
        line.adjustment_reason = reason
        line.save(update_fields=["approved_quantity", "adjustment_reason"])
    amount_refresh(claim)
    if claim.status in (Claim.Status.SUBMITTED, Claim.Status.APPEALED):
        claim.status = Claim.Status.UNDER_REVIEW
    claim.save(update_fields=["status", "amount_jpy", "disputed", "matches_snapshot", "updated_at"])
    holdbacks_push(claims=[claim])
    timeline_add(claim, claim.status, reason)
    _action_record(
        claim=claim,
        actor=actor,
        kind=ClaimAction.Kind.ADJUST,
        reason=reason,
        before={"lines": before},
        after={"lines": lines_state(claim), "amount_jpy": claim.amount_jpy},
    )
    notify(claim, "adjusted", reason)
    return claim


@transaction.atomic(durable=True)
def claim_info_request(*, actor: User, claim: Claim, message: str) -> Claim:
    """Ask the customer for information; they answer by editing lines or adding evidence."""
    _check_may(actor, "request_info")
    message = (message or "").strip()
    if not message:
        raise InvalidInput(
            "invalid", _("Write the message to the customer."), extra={"fields": {"reason": [_("required")]}}
        )
    claim = claim_lock_for_staff(claim)
    _check_status(claim, "request_info", _("asked"))
    check_appeal_independence(claim, decider(actor, claim))
    before = claim.status
    claim.status = Claim.Status.INFO_REQUESTED
    claim.save(update_fields=["status", "updated_at"])
    timeline_add(claim, claim.status, message)
    _action_record(
        claim=claim,
        actor=actor,
        kind=ClaimAction.Kind.REQUEST_INFO,
        reason=message,
        before={"status": before},
        after={"status": claim.status},
    )
    notify(claim, "info_requested", message)
    return claim


@transaction.atomic(durable=True)
def claim_recommend(*, actor: User, claim: Claim, reason: str = "") -> Claim:
    """The maker's step: recommend approval of the current approved quantities."""
    _check_may(actor, "recommend")
    claim = claim_lock_for_staff(claim)
    _check_status(claim, "recommend", _("recommended"))
    check_appeal_independence(claim, decider(actor, claim))
    if not hasattr(claim, "payout"):
        raise ApplicationError("payout_missing", _("Claim %(ref)s has no payout choice yet.") % {"ref": claim.ref})
    before = claim.status
    amount_refresh(claim)
    claim.required_approvals = required_approvals_for(claim.amount_jpy)
    claim.status = Claim.Status.RECOMMENDED
    claim.save(
        update_fields=["status", "required_approvals", "amount_jpy", "disputed", "matches_snapshot", "updated_at"]
    )
    _action_record(
        claim=claim,
        actor=actor,
        kind=ClaimAction.Kind.RECOMMEND,
        reason=reason,
        before={"status": before},
        after={"status": claim.status, "amount_jpy": claim.amount_jpy, "required_approvals": claim.required_approvals},
    )
    return claim


@transaction.atomic(durable=True)
def claim_approve(*, actor: User, claim: Claim, reason: str = "") -> Claim:
    """The checker's step. Never the maker (who recommended or adjusted); two approvers above the threshold.

    The database enforces the same rule (migration 0005). When the last needed
    approval is in, line values are fixed with jpy_value, the incident's prices
    are locked, the customer is told, and the claim goes to payouts.
    """
    _check_may(actor, "approve")
    claim = claim_lock_for_staff(claim)
    _check_status(claim, "approve", _("approved"))
    member = decider(actor, claim)
    check_appeal_independence(claim, member)
    if member.pk in claim_makers(claim):
        raise ApplicationError(
            "four_eyes",
            _("You recommended or adjusted %(ref)s; another approver must approve it.") % {"ref": claim.ref},
        )
    if ClaimApproval.objects.filter(claim=claim, review_round=claim.review_round, approver_member=member).exists():
        raise Conflict(
            "already_approved",
            _("You approved %(ref)s already; it needs a different second approver.") % {"ref": claim.ref},
        )
    if name_decision_missing(claim):
        raise ApplicationError(
            "payout_name_mismatch",
            _("The account holder's name differs from the registered name; a reviewer must decide on it first."),
        )
    prices_lock_if_first(actor=actor, incident_id=claim.incident_id)
    amount_refresh(claim)
    claim.required_approvals = max(claim.required_approvals, required_approvals_for(claim.amount_jpy))
    ClaimApproval.objects.create(claim=claim, approver=actor, approver_member=member, review_round=claim.review_round)
    approvals = ClaimApproval.objects.filter(claim=claim, review_round=claim.review_round).count()
    before = claim.status
    if approvals >= claim.required_approvals:
        if claim.review_round > 0:
            claim.lines.update(decided_quantity=F("approved_quantity"))  # the appeal's decision replaces the first
        claim.status = Claim.Status.APPROVED
        claim.approved_amount_jpy = claim.amount_jpy
        claim.approved_at = timezone.now()
    claim.save(
        update_fields=[
            "status",
            "required_approvals",
            "amount_jpy",
            "approved_amount_jpy",
            "approved_at",
            "disputed",
            "matches_snapshot",
            "updated_at",
        ]
    )
    _action_record(
        claim=claim,
        actor=actor,
        kind=ClaimAction.Kind.APPROVE,
        reason=reason,
        before={"status": before},
        after={
            "status": claim.status,
            "approvals": approvals,
            "required_approvals": claim.required_approvals,
            "approved_amount_jpy": claim.approved_amount_jpy,
            "lines": lines_state(claim),
        },
    )
    if claim.status == Claim.Status.APPROVED:
        timeline_add(claim, Claim.Status.APPROVED)
        _decided_payment_state(claim)
        notify(claim, "closed_nothing_due" if claim.status == Claim.Status.CLOSED_NOTHING_DUE else "approved")
    return claim


def _appeal_window(claim: Claim) -> dt.datetime | None:
    """Until when a first decision that cut or rejected the claim may be appealed (None: it may not)."""
    cut = claim.status == Claim.Status.REJECTED or any(line.is_cut for line in claim.lines.all())
    if claim.review_round > 0 or not cut:
        return None
    return timezone.now() + dt.timedelta(days=settings.CLAIM_APPEAL_DAYS)


def _decided_payment_state(claim: Claim) -> None:
    """After the last approval: the holdback becomes the approved amount and the claim goes to payouts.

    A claim approved at ¥0 has nothing to pay: it is closed there and then.
    An upheld appeal of a claim already (partly) paid keeps its payment state
    until the difference is paid. Caller's transaction, claim locked.
    """
    if claim.review_round > 0 and claim.appealed_from in (Claim.Status.PARTLY_PAID, Claim.Status.PAID):
        approved = claim.approved_amount_jpy or 0
        claim.status = Claim.Status.PARTLY_PAID if claim.paid_jpy < approved else claim.appealed_from
    elif claim.approved_amount_jpy == 0:
        claim.status = Claim.Status.CLOSED_NOTHING_DUE
        timeline_add(claim, Claim.Status.CLOSED_NOTHING_DUE)
    claim.appeal_until = _appeal_window(claim)
    claim.save(update_fields=["status", "appeal_until", "updated_at"])
    holdbacks_push(claims=[claim])
    if claim.status != Claim.Status.CLOSED_NOTHING_DUE:
        hand_off_after_commit(claim_ids=[claim.pk])


@transaction.atomic(durable=True)
def claim_reject(*, actor: User, claim: Claim, reason: str) -> Claim:
    """Reject with a reason shown to the customer. Rejecting an appeal of an approved claim keeps its approval."""
    _check_may(actor, "reject")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            "invalid", _("A reason is required to reject."), extra={"fields": {"reason": [_("required")]}}
        )
    claim = claim_lock_for_staff(claim)
    _check_status(claim, "reject", _("rejected"))
    check_appeal_independence(claim, decider(actor, claim))
    before = claim.status
    if claim.review_round > 0 and claim.appealed_from in PAYOUT_LOCKED:
        # The appeal is turned down: what was approved stays approved (and paid stays paid).
        for line in claim.lines.all():
            if line.decided_quantity is not None and line.approved_quantity != line.decided_quantity:
                line.approved_quantity = line.decided_quantity
                line.save(update_fields=["approved_quantity"])
        amount_refresh(claim)
        claim.status = claim.appealed_from
        notify_kind = "appeal_rejected"
    else:
        claim.status = Claim.Status.REJECTED
        notify_kind = "rejected"
    claim.appeal_until = _appeal_window(claim)
    claim.save(update_fields=["status", "amount_jpy", "disputed", "matches_snapshot", "appeal_until", "updated_at"])
    holdbacks_push(claims=[claim])
    timeline_add(claim, Claim.Status.REJECTED, reason)
    if claim.status != Claim.Status.REJECTED:
        timeline_add(claim, claim.status)
    _action_record(
        claim=claim,
        actor=actor,
        kind=ClaimAction.Kind.REJECT,
        reason=reason,
        before={"status": before},
        after={"status": claim.status},
    )
    notify(claim, notify_kind, reason)
    return claim


DECISIONS = tuple(DECISION_RULES)


def check_may_approve(*, actor: User, otp_token: str = "") -> None:
    """Approving (one claim or a batch) needs the permission, then the second factor: a verified session,
    or for token clients a current TOTP code (403 forbidden / second_factor_required)."""
    if not actor.has_perm("claims.approve_claim"):
        raise ApplicationError("forbidden", _("Your role may not approve claims."), status=403)
    second_factor_check(actor, otp_token)


def claim_decide(
    *,
    actor: User,
    claim: Claim,
    action: str,
    reason: str = "",
    adjustments: Sequence[LineAdjustment] = (),
    otp_token: str = "",
) -> Claim:
    """One staff decision by its name, as the review API and the claim page take it (see DECISIONS)."""
    if action == "verify":
        return claim_verify(actor=actor, claim=claim, reason=reason)
    if action == "adjust":
        return claim_line_adjust(actor=actor, claim=claim, adjustments=list(adjustments), reason=reason)
    if action == "request_info":
        return claim_info_request(actor=actor, claim=claim, message=reason)
    if action == "recommend":
        return claim_recommend(actor=actor, claim=claim, reason=reason)
    if action == "approve":
        check_may_approve(actor=actor, otp_token=otp_token)
        return claim_approve(actor=actor, claim=claim, reason=reason)
    if action == "reject":
        return claim_reject(actor=actor, claim=claim, reason=reason)
    raise InvalidInput(
        "invalid", _("Unknown decision %(action)s.") % {"action": action}, extra={"fields": {"action": list(DECISIONS)}}
    )
