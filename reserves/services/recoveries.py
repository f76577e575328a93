"""Insurer recoveries: the notice, the proof of loss, the insurer's settlement (which tops everyone up) or denial,
and the deadline warnings of the beat task."""

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import Actor, event_record
from core.errors import ApplicationError, Conflict, NotFound
from core.locks import locked
from core.types import User
from reserves import ledger
from reserves.models import RecoveryClaim
from reserves.services._shared import REF, allocation_after_commit, invalid


def _recovery_lock(recovery_id: int) -> RecoveryClaim:
    recovery = locked(RecoveryClaim.objects).select_related("policy", "fund").filter(pk=recovery_id).first()
    if recovery is None:
        raise NotFound("not_found", "No such recovery claim.")
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


@transaction.atomic(durable=True)
def recovery_notice_record(*, actor: User | Actor, recovery: RecoveryClaim, sent_at: dt.datetime) -> RecoveryClaim:
    """The notice of loss was given to the insurer (due 30 days after detection)."""
    recovery = _recovery_lock(recovery.pk)
    if recovery.status != RecoveryClaim.Status.OPEN:
        raise Conflict("invalid_state", f"Notice cannot be recorded on a {recovery.status} recovery.")
    return _recovery_step(
        actor=actor,
        recovery=recovery,
        action="recovery.notice_given",
        changes={"status": RecoveryClaim.Status.NOTIFIED, "notice_sent_at": sent_at},
    )


@transaction.atomic(durable=True)
def recovery_proof_record(*, actor: User | Actor, recovery: RecoveryClaim, submitted_at: dt.datetime) -> RecoveryClaim:
    """The proof of loss was submitted (due 6 months after detection)."""
    recovery = _recovery_lock(recovery.pk)
    if recovery.status != RecoveryClaim.Status.NOTIFIED:
        raise Conflict("invalid_state", "Proof of loss follows the notice; record the notice first.")
    return _recovery_step(
        actor=actor,
        recovery=recovery,
        action="recovery.proof_submitted",
        changes={"status": RecoveryClaim.Status.PROOF_SUBMITTED, "proof_submitted_at": submitted_at},
    )


@transaction.atomic(durable=True)
def recovery_deny(*, actor: User | Actor, recovery: RecoveryClaim, reason: str) -> RecoveryClaim:
    recovery = _recovery_lock(recovery.pk)
    if recovery.status in (RecoveryClaim.Status.SETTLED, RecoveryClaim.Status.DENIED):
        raise Conflict("invalid_state", f"The recovery is already {recovery.status}.")
    if not reason.strip():
        raise invalid("Say why the insurer denied the claim.", {"reason": ["required"]})
    return _recovery_step(
        actor=actor,
        recovery=recovery,
        action="recovery.denied",
        changes={"status": RecoveryClaim.Status.DENIED, "note": reason},
    )


@transaction.atomic(durable=True)
def recovery_settle(*, actor: User | Actor, recovery: RecoveryClaim, amount_jpy: int, reference: str) -> RecoveryClaim:
    """The insurer paid `amount_jpy` (remittance `reference`): the money joins the incident's funds, everyone tops up.

    Repeating the same reference with the same amount is a no-op; with
    another amount it is a 409. The total settled cannot exceed the claim.
    """
    if isinstance(amount_jpy, bool) or not isinstance(amount_jpy, int) or amount_jpy <= 0:
        raise invalid("The settlement is invalid.", {"amount_jpy": ["a positive whole number of yen"]})
    if not REF.match(reference or ""):
        raise invalid("The settlement is invalid.", {"reference": ["1-64 letters, digits or -_.:/"]})
    recovery = _recovery_lock(recovery.pk)
    key = f"settlement:{recovery.pk}:{reference}"
    previous = ledger.Transfer.objects.filter(idempotency_key=key).first()
    if previous is not None:
        if previous.amount_jpy != amount_jpy:
            raise Conflict("reference_reused", "This settlement reference was recorded with another amount.")
        return recovery
    if recovery.status == RecoveryClaim.Status.DENIED:
        raise Conflict("invalid_state", "The insurer denied this recovery.")
    if recovery.settled_jpy + amount_jpy > recovery.amount_claimed_jpy:
        raise ApplicationError(
            "over_settlement",
            f"¥{amount_jpy:,} would take the settled total past the ¥{recovery.amount_claimed_jpy:,} claimed.",
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
    changes: dict[str, Any] = {"settled_jpy": settled}
    if settled >= recovery.amount_claimed_jpy:
        changes.update(status=RecoveryClaim.Status.SETTLED, settled_at=timezone.now())
    _recovery_step(actor=actor, recovery=recovery, action="recovery.settled", changes=changes)
    allocation_after_commit(fund, "insurer settlement")
    return recovery


def recoveries_follow_up(*, now: dt.datetime | None = None) -> list[dict]:
    """Warn (log and audit, once a day each) about notice and proof deadlines within RECOVERY_WARN_DAYS or past."""
    now = now or timezone.now()
    horizon = now + dt.timedelta(days=settings.RECOVERY_WARN_DAYS)
    warnings = []
    due = RecoveryClaim.objects.filter(
        Q(status=RecoveryClaim.Status.OPEN, notice_due_at__lte=horizon)
        | Q(status=RecoveryClaim.Status.NOTIFIED, proof_due_at__lte=horizon)
    ).filter(Q(last_warned_at__isnull=True) | Q(last_warned_at__lte=now - dt.timedelta(hours=23)))
    for recovery_id in due.values_list("id", flat=True):
        with transaction.atomic(durable=True):
            recovery = _recovery_lock(recovery_id)
            step = "notice" if recovery.status == RecoveryClaim.Status.OPEN else "proof of loss"
            deadline = recovery.notice_due_at if step == "notice" else recovery.proof_due_at
            warning = {
                "recovery_id": recovery.pk,
                "incident_code": recovery.fund.incident_code,
                "policy_number": recovery.policy.policy_number,
                "step": step,
                "due_at": deadline,
                "overdue": deadline < now,
            }
            _recovery_step(
                actor=Actor.system("reserves.recoveries_follow_up"),
                recovery=recovery,
                action="recovery.deadline_warning",
                changes={"last_warned_at": now},
            )
            warnings.append(warning)
    return warnings
