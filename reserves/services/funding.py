"""The liability reserve: fundings and replenishments under maker-checker, and the custody value its minimum follows."""

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from audit.services import Actor, event_record
from core.errors import ApplicationError, Conflict, NotFound
from core.locks import locked
from core.types import User
from reserves import ledger
from reserves.models import CustodyValuation, IncidentFund, ReserveFunding
from reserves.services._shared import actor_of, allocation_after_commit, invalid


@transaction.atomic(durable=True)
def funding_request(
    *,
    actor: User | Actor,
    kind: str,
    amount_jpy: int,
    reference: str,
    note: str = "",
    idempotency_key: str = "",
) -> ReserveFunding:
    """The maker's step: ask for money to go into the reserve. Repeating the same key returns the first request."""
    who = actor_of(actor)
    fields: dict[str, list[str]] = {}
    if kind not in ReserveFunding.Kind.values:
        fields["kind"] = [_("must be funding or replenishment")]
    if isinstance(amount_jpy, bool) or not isinstance(amount_jpy, int) or amount_jpy <= 0:
        fields["amount_jpy"] = [_("must be a positive whole number of yen")]
    if not reference.strip() or len(reference) > 100:
        fields["reference"] = [_("required, at most 100 characters (the remittance reference)")]
    if len(idempotency_key) > 100:
        fields["idempotency_key"] = [_("at most 100 characters")]
    if fields:
        raise invalid(_("The funding request is invalid."), fields)

    def replayed() -> ReserveFunding | None:
        existing = ReserveFunding.objects.filter(requested_by=who.name, idempotency_key=idempotency_key).first()
        if existing is not None and (existing.kind, existing.amount_jpy, existing.reference) != (
            kind,
            amount_jpy,
            reference.strip(),
        ):
            raise Conflict("idempotency_key_reused", _("This Idempotency-Key was used for a different request."))
        return existing

    if idempotency_key and (existing := replayed()) is not None:
        return existing
    try:
        with transaction.atomic():
            funding = ReserveFunding.objects.create(
                kind=kind,
                amount_jpy=amount_jpy,
                reference=reference.strip(),
                note=note,
                idempotency_key=idempotency_key,
                requested_by=who.name,
                requested_by_id=who.id,
            )
    except IntegrityError:  # the same key committed by a concurrent request a moment ago
        existing = replayed()
        if existing is None:
            raise
        return existing
    event_record(
        actor=actor,
        action="reserve.funding_requested",
        subject=funding,
        data={"after": {"kind": kind, "amount_jpy": amount_jpy, "reference": funding.reference, "note": note}},
    )
    return funding


def _funding_lock(funding_id: int) -> ReserveFunding:
    funding = locked(ReserveFunding.objects).filter(pk=funding_id).first()
    if funding is None:
        raise NotFound("not_found", _("No such funding request."))
    if funding.status != ReserveFunding.Status.REQUESTED:
        raise Conflict(
            "already_decided",
            _("This funding request is already %(status)s.") % {"status": funding.get_status_display()},
        )
    return funding


def _check_four_eyes(funding: ReserveFunding, who: Actor) -> None:
    """The checker is another person than the maker: another name (system actors), and for logins another person
    (settings.SAME_PERSON: two logins of one staff member count once)."""
    same_login_person = (
        who.id is not None
        and funding.requested_by_id is not None
        and import_string(settings.SAME_PERSON)(who.id, funding.requested_by_id)
    )
    if who.name == funding.requested_by or same_login_person:
        raise ApplicationError("four_eyes", _("The checker must be a different person from the maker."), status=403)


def funding_allowed_actions(funding: ReserveFunding, user: User) -> list[str]:
    """What `user` may decide on `funding` now (["approve", "reject"] or nothing): the rule the services check."""
    if funding.status != ReserveFunding.Status.REQUESTED or not user.has_perm("reserves.approve_funding"):
        return []
    try:
        _check_four_eyes(funding, actor_of(user))
    except ApplicationError:
        return []
    return ["approve", "reject"]


@transaction.atomic(durable=True)
def funding_approve(*, actor: User | Actor, funding: ReserveFunding) -> ReserveFunding:
    """The checker's step: a different person approves; the money moves into the reserve, short incidents top up."""
    who = actor_of(actor)
    funding = _funding_lock(funding.pk)
    _check_four_eyes(funding, who)
    ledger.transfers_post(
        transfers=[
            ledger.TransferInput(
                idempotency_key=f"funding:{funding.pk}",
                debit=ledger.exchange_account(),
                credit=ledger.reserve_account(),
                amount_jpy=funding.amount_jpy,
                kind="funding",
                memo=f"{funding.kind} {funding.reference}"[:200],
            )
        ]
    )
    funding.status = ReserveFunding.Status.APPROVED
    funding.decided_by, funding.decided_by_id, funding.decided_at = who.name, who.id, timezone.now()
    funding.save(update_fields=["status", "decided_by", "decided_by_id", "decided_at"])
    event_record(
        actor=actor,
        action="reserve.funding_approved",
        subject=funding,
        data={"before": {"status": "requested"}, "after": {"status": "approved", "amount_jpy": funding.amount_jpy}},
    )
    # More money in the reserve can raise the distribution rate of every short incident.
    for fund in IncidentFund.objects.filter(on_hold=False).exclude(round=0):
        allocation_after_commit(fund, "reserve funding")
    return funding


@transaction.atomic(durable=True)
def funding_reject(*, actor: User | Actor, funding: ReserveFunding, reason: str) -> ReserveFunding:
    who = actor_of(actor)
    if not reason.strip():
        raise invalid(_("Say why the request is rejected."), {"reason": ["required"]})
    funding = _funding_lock(funding.pk)
    _check_four_eyes(funding, who)
    funding.status = ReserveFunding.Status.REJECTED
    funding.decided_by, funding.decided_by_id, funding.decided_at = who.name, who.id, timezone.now()
    funding.decision_reason = reason
    funding.save(update_fields=["status", "decided_by", "decided_by_id", "decided_at", "decision_reason"])
    event_record(
        actor=actor,
        action="reserve.funding_rejected",
        subject=funding,
        data={"before": {"status": "requested"}, "after": {"status": "rejected"}, "reason": reason},
    )
    return funding


@transaction.atomic(durable=True)
def custody_value_record(*, actor: User | Actor, value_jpy: int, as_of: dt.datetime) -> CustodyValuation:
    """Record the value of customer assets in custody (the percentage part of the reserve requirement)."""
    if isinstance(value_jpy, bool) or not isinstance(value_jpy, int) or value_jpy < 0:
        raise invalid(
            _("The custody value is invalid."), {"value_jpy": [_("must be a whole number of yen, 0 or more")]}
        )
    valuation = CustodyValuation.objects.create(as_of=as_of, value_jpy=value_jpy, recorded_by=actor_of(actor).name)
    event_record(
        actor=actor, action="reserve.custody_valued", subject=valuation, data={"after": {"value_jpy": value_jpy}}
    )
    return valuation
