"""Insurer recoveries: the notice, the proof of loss, the insurer's settlement (which tops everyone up) or denial,
and the deadline warnings of the beat task."""

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import Actor, event_record
from core.errors import ApplicationError, Conflict, NotFound
from core.locks import locked
from core.types import User
from reserves import ledger
from reserves.models import RecoveryClaim
from reserves.selectors.payouts import recovery_deadlines, recovery_missing_steps
from reserves.services._shared import REF, allocation_after_commit, invalid

# A recovery in one of these states takes no more steps.
RECOVERY_CLOSED = (RecoveryClaim.Status.SETTLED, RecoveryClaim.Status.DENIED)


def _recovery_lock(recovery_id: int) -> RecoveryClaim:
    recovery = locked(RecoveryClaim.objects).select_related("policy", "fund").filter(pk=recovery_id).first()
    if recovery is None:
        raise NotFound("not_found", _("No such recovery claim."))
    return recovery


def _recovery_step(
    *, actor: User | Actor, recovery: RecoveryClaim, action: str, changes: dict[str, Any]
) -> RecoveryClaim:
    before = {name: getattr(recovery, name) for name in changes}
    for name, value in changes.items():
        setattr(recovery, name, value)
    recovery.save(update_fields=list(changes))
    event_record(actor=actor, action=action, subject=recovery, data={"before": before, "after": changes})
    return recovery


def _step_checked(*, recovery: RecoveryClaim, when: dt.datetime, evidence: str, after: dt.datetime | None) -> str:
    """A recovery step needs an aware date, not before the step it follows (or detection), and its evidence."""
    fields: dict[str, list[str]] = {}
    if when is None or timezone.is_naive(when):
        fields["date"] = [_("a timezone-aware date and time is required")]
    elif when < (after or recovery.fund.detected_at) or when > timezone.now() + dt.timedelta(minutes=5):
        fields["date"] = [_("must be after the step before it and not in the future")]
    evidence = (evidence or "").strip()
    if not evidence or len(evidence) > 300:
        fields["evidence"] = [_("1-300 characters: a letter's reference, a document's name or its hash")]
    if fields:
        raise invalid(_("The recovery step is invalid."), fields)
    return evidence


def _require_steps(recovery: RecoveryClaim, *, upto: str) -> None:
    """422 naming the steps before `upto` ("proof_of_loss" or "settlement") that are not recorded yet."""
    missing = recovery_missing_steps(recovery=recovery)
    if upto == "proof_of_loss":
        missing = [m for m in missing if m == "notice"]
    if missing:
        names = {"notice": _("the notice of loss"), "proof_of_loss": _("the proof of loss")}
        raise ApplicationError(
            "recovery_step_missing",
            _("Record %(steps)s first: an insurer is notified, then given proof of loss, then pays.")
            % {"steps": _(" and ").join(str(names[m]) for m in missing)},
            extra={"missing": missing},
        )


@transaction.atomic(durable=True)
def recovery_notice_record(
    *, actor: User | Actor, recovery: RecoveryClaim, sent_at: dt.datetime, evidence: str
) -> RecoveryClaim:
    """The notice of loss was given to the insurer (due RECOVERY_NOTICE_DAYS after detection), with its evidence."""
    recovery = _recovery_lock(recovery.pk)
    if recovery.status != RecoveryClaim.Status.OPEN:
        raise Conflict(
            "invalid_state",
            _("Notice cannot be recorded on a %(status)s recovery.") % {"status": recovery.get_status_display()},
        )
    evidence = _step_checked(recovery=recovery, when=sent_at, evidence=evidence, after=None)
    return _recovery_step(
        actor=actor,
        recovery=recovery,
        action="recovery.notice_given",
        changes={"status": RecoveryClaim.Status.NOTIFIED, "notice_sent_at": sent_at, "notice_evidence": evidence},
    )


@transaction.atomic(durable=True)
def recovery_proof_record(
    *, actor: User | Actor, recovery: RecoveryClaim, submitted_at: dt.datetime, evidence: str
) -> RecoveryClaim:
    """The proof of loss was submitted (due RECOVERY_PROOF_MONTHS after detection); 422 before the notice."""
    recovery = _recovery_lock(recovery.pk)
    if recovery.status in RECOVERY_CLOSED or recovery.proof_submitted_at:
        raise Conflict("invalid_state", _("Proof of loss was recorded already or the recovery is closed."))
    _require_steps(recovery, upto="proof_of_loss")
    evidence = _step_checked(recovery=recovery, when=submitted_at, evidence=evidence, after=recovery.notice_sent_at)
    return _recovery_step(
        actor=actor,
        recovery=recovery,
        action="recovery.proof_submitted",
        changes={
            "status": RecoveryClaim.Status.PROOF_SUBMITTED,
            "proof_submitted_at": submitted_at,
            "proof_evidence": evidence,
        },
    )


@transaction.atomic(durable=True)
def recovery_deny(*, actor: User | Actor, recovery: RecoveryClaim, reason: str) -> RecoveryClaim:
    recovery = _recovery_lock(recovery.pk)
    if recovery.status in RECOVERY_CLOSED:
        raise Conflict(
            "invalid_state", _("The recovery is already %(status)s.") % {"status": recovery.get_status_display()}
        )
    if not reason.strip():
        raise invalid(_("Say why the insurer denied the claim."), {"reason": ["required"]})
    return _recovery_step(
        actor=actor,
        recovery=recovery,
        action="recovery.denied",
        changes={"status": RecoveryClaim.Status.DENIED, "note": reason},
    )


@transaction.atomic(durable=True)
def recovery_settle(
    *,
    actor: User | Actor,
    recovery: RecoveryClaim,
    amount_jpy: int,
    reference: str,
    received_at: dt.datetime | None = None,
) -> RecoveryClaim:
    """The insurer paid `amount_jpy` (remittance `reference`, received at `received_at`, default now).

    The money joins the incident's funds and everyone tops up. Only after the
    notice and the proof of loss (422 `recovery_step_missing` naming what is
    missing). Repeating the same reference with the same amount is a no-op;
    with another amount it is a 409. The total settled cannot exceed the claim.
    """
    if isinstance(amount_jpy, bool) or not isinstance(amount_jpy, int) or amount_jpy <= 0:
        raise invalid(_("The settlement is invalid."), {"amount_jpy": [_("a positive whole number of yen")]})
    if not REF.match(reference or ""):
        raise invalid(_("The settlement is invalid."), {"reference": [_("1-64 letters, digits or -_.:/")]})
    recovery = _recovery_lock(recovery.pk)
    key = f"settlement:{recovery.pk}:{reference}"
    previous = ledger.Transfer.objects.filter(idempotency_key=key).first()
    if previous is not None:
        if previous.amount_jpy != amount_jpy:
            raise Conflict("reference_reused", _("This settlement reference was recorded with another amount."))
        return recovery
    if recovery.status == RecoveryClaim.Status.DENIED:
        raise Conflict("invalid_state", _("The insurer denied this recovery."))
    _require_steps(recovery, upto="settlement")
    received_at = received_at or timezone.now()
    _step_checked(recovery=recovery, when=received_at, evidence=reference, after=recovery.proof_submitted_at)
    if recovery.settled_jpy + amount_jpy > recovery.amount_claimed_jpy:
        raise ApplicationError(
            "over_settlement",
            _("¥%(amount)s would take the settled total past the ¥%(claimed)s claimed.")
            % {"amount": f"{amount_jpy:,}", "claimed": f"{recovery.amount_claimed_jpy:,}"},
        )
    policy, fund = recovery.policy, recovery.fund
    code = fund.incident_code
    ledger.transfers_post(
        transfers=[
            ledger.TransferInput(
                key, policy.insurer_account, policy.account, amount_jpy, "settlement", code, reference
            ),
            ledger.TransferInput(
                f"draw:{recovery.pk}:{reference}",
                policy.account,
                fund.pool_account,
                amount_jpy,
                "draw",
                code,
                reference,
            ),
        ]
    )
    settled = recovery.settled_jpy + amount_jpy
    # settled_at: when the latest money arrived (each remittance's own date is in its audit event).
    changes: dict[str, Any] = {"settled_jpy": settled, "settled_at": received_at}
    if settled >= recovery.amount_claimed_jpy:
        changes["status"] = RecoveryClaim.Status.SETTLED
    _recovery_step(actor=actor, recovery=recovery, action="recovery.settled", changes=changes)
    allocation_after_commit(fund, "insurer settlement")
    return recovery


def recoveries_follow_up(*, now: dt.datetime | None = None) -> list[dict]:
    """Warn (log and audit, once a day each) about notice and proof deadlines within RECOVERY_WARN_DAYS or past."""
    now = now or timezone.now()
    warnings = []
    for due in recovery_deadlines(now=now):
        last = due.recovery.last_warned_at
        if last is not None and last > now - dt.timedelta(hours=23):
            continue
        with transaction.atomic(durable=True):
            recovery = _recovery_lock(due.recovery.pk)
            warning = {
                "recovery_id": recovery.pk,
                "incident_code": recovery.fund.incident_code,
                "policy_number": recovery.policy.policy_number,
                "step": due.step,
                "due_at": due.due_at,
                "overdue": due.overdue,
            }
            _recovery_step(
                actor=Actor.system("reserves.recoveries_follow_up"),
                recovery=recovery,
                action="recovery.deadline_warning",
                changes={"last_warned_at": now},
            )
            warnings.append(warning)
    return warnings


def recovery_allowed_actions(recovery: RecoveryClaim, user: User) -> list[str]:
    """What `user` may record on `recovery` now: its next step (notice, proof of loss, then settlements until the
    claim is paid in full) and a denial, while it is neither settled nor denied; nothing without the policy
    manager's permission. The steps' services refuse the same things (409/422)."""
    if not user.has_perm("reserves.manage_policy") or recovery.status in RECOVERY_CLOSED:
        return []
    if recovery.status == RecoveryClaim.Status.OPEN:
        return ["notice", "deny"]
    if recovery.proof_submitted_at is None:
        return ["proof", "deny"]
    return ["settle", "deny"]
