"""Corrections: a payout came back (returned by the bank, refused by the exchange, or unclaimed); the customer
gives corrected details, a reviewer accepts or rejects them, and the payout is sent again, once.

After a payout is returned (reserves' payout_returned signal) the customer is
told why in their language and asked for corrected details
(`payout_correction_request`, guarded like any change of payout details); a
reviewer accepts or rejects them (`payout_correction_review`);
`payout_corrections_apply` (celery beat) sends the accepted ones again once
their cooling-off period is over, through reserves.returns.payout_resend, which
pays each returned payout at most once (docs/rails.md, "Returned payouts").
"""

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.second_factor import reauthenticate
from audit.services import Actor, event_record
from claims.models import Claim, Customer, PayoutChoice, PayoutCorrection
from claims.services._shared import notify
from claims.services.holder_names import name_check
from claims.services.payout_choice import PayoutInput, cooling_off_end, payout_resolve
from core.errors import ApplicationError, Conflict, NotFound
from core.locks import locked, locked_skipping
from core.types import User
from reserves import services as reserve_services
from reserves.selectors import rails as rail_selectors


def payout_returned_received(
    sender: object, claim_ref: str, payout_id: int, reason_code: str, reason: str, **kwargs: object
) -> None:
    """reserves' payout_returned (inside its transaction): tell the customer after commit, in their language."""
    claim = Claim.objects.filter(ref=claim_ref).only("pk").first()
    if claim is not None:
        notify(claim, "payout_returned", reason_code)


def _details(*, claim: Claim, payout: PayoutInput) -> tuple[str, dict[str, Any]]:
    """Checked details as the payout side wants them (claims' own rules, then reserves' PayeeInput's)."""
    if payout.method == PayoutChoice.Method.EXCHANGE:
        return "exchange", {"account_id": claim.customer.account_id}
    resolved = payout_resolve(incident=claim.incident, payout=payout)
    return resolved["method"], {k: v for k, v in resolved.items() if k != "method"}


def returned_payout_for(claim: Claim) -> dict[str, Any] | None:
    """The claim's payout that came back and awaits corrected details (returned or unclaimed), if any."""
    return rail_selectors.payout_awaiting_correction(claim_ref=claim.ref)


@transaction.atomic(durable=True)
def payout_correction_request(
    *,
    customer: Customer,
    claim: Claim,
    payout: PayoutInput,
    password: str,
    otp_token: str = "",
    passkey_verified: bool = False,
) -> PayoutCorrection:
    """The customer's corrected details for a returned payout: guarded, then waiting for a reviewer."""
    reauthenticate(user=customer.user, password=password, otp_token=otp_token, passkey_verified=passkey_verified)
    claim = locked(Claim.objects.select_related("incident", "customer")).get(pk=claim.pk, customer=customer)
    returned = returned_payout_for(claim)
    if returned is None:
        raise Conflict("nothing_returned", _("No payment of this claim came back; there is nothing to correct."))
    method, details = _details(claim=claim, payout=payout)
    check = name_check(customer=customer, method=method, holder_kana=details.get("holder_name_kana", ""))
    try:
        with transaction.atomic():
            correction = PayoutCorrection.objects.create(
                claim=claim,
                payout_id=returned["id"],
                method=method,
                details=details,
                name_check=check,
                effective_at=cooling_off_end(),
            )
    except IntegrityError as exc:
        raise Conflict(
            "correction_pending", _("Corrected details for this payment are already waiting for review.")
        ) from exc
    event_record(
        actor=customer.user,
        action="claim.payout_correction_requested",
        subject=claim,
        data={
            "payout_id": returned["id"],
            "method": method,
            "name_check": check,
            "effective_at": correction.effective_at.isoformat(),
            "account_number_last3": details.get("account_number", "")[-3:],
        },
    )
    notify(claim, "payout_details_changed")
    return correction


@transaction.atomic(durable=True)
def payout_correction_review(
    *, actor: User, correction: PayoutCorrection, accept: bool, reason: str
) -> PayoutCorrection:
    """A reviewer accepts (a name mismatch only with a reason) or rejects corrected details."""
    found = locked(PayoutCorrection.objects).filter(pk=correction.pk).first()
    if found is None:
        raise NotFound("not_found", _("No such correction."))
    correction = found
    if correction.status != PayoutCorrection.Status.PENDING_REVIEW:
        raise Conflict("already_reviewed", _("These details were already reviewed."))
    if getattr(actor, "pk", None) is not None and actor.pk == correction.claim.customer.user_id:
        raise ApplicationError("four_eyes", _("Customers cannot review their own details."), status=403)
    if (not accept or correction.name_check == PayoutChoice.NameCheck.MISMATCH) and not reason.strip():
        raise ApplicationError(
            "reason_required", _("Give a reason: it is required to reject, or to accept a holder name that differs.")
        )
    who = Actor.of(actor)
    correction.status = PayoutCorrection.Status.ACCEPTED if accept else PayoutCorrection.Status.REJECTED
    correction.reviewed_by, correction.reviewed_at, correction.review_reason = who.name, timezone.now(), reason.strip()
    correction.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_reason"])
    event_record(
        actor=actor,
        action="claim.payout_correction_accepted" if accept else "claim.payout_correction_rejected",
        subject=correction.claim,
        data={"payout_id": correction.payout_id, "name_check": correction.name_check, "reason": reason.strip()},
    )
    if not accept:
        notify(correction.claim, "payout_correction_rejected", reason.strip())
    return correction


def _payee_input(correction: PayoutCorrection) -> reserve_services.PayeeInput:
    d = correction.details
    if correction.method == "bank":
        return reserve_services.PayeeInput(
            method="bank",
            bank_code=d["bank_code"],
            branch_code=d["branch_code"],
            account_type=d["account_type"],
            account_number=d["account_number"],
            holder_kana=d["holder_name_kana"],
        )
    if correction.method == "exchange":
        return reserve_services.PayeeInput(method="exchange", account_id=d["account_id"])
    return reserve_services.PayeeInput(method="crypto", addresses=dict(d.get("addresses", {})))


def payout_corrections_apply(*, now: dt.datetime | None = None) -> int:
    """Send again every accepted correction whose cooling-off period is over (each in its own transaction)."""
    now = now or timezone.now()
    applied = 0
    for correction_id in PayoutCorrection.objects.filter(
        status=PayoutCorrection.Status.ACCEPTED, effective_at__lte=now
    ).values_list("id", flat=True):
        # One transaction: the correction is marked applied exactly when its payout is sent again.
        with transaction.atomic(durable=True):
            correction = (
                locked_skipping(PayoutCorrection.objects)
                .filter(pk=correction_id, status=PayoutCorrection.Status.ACCEPTED)
                .first()
            )
            if correction is None:
                continue
            reserve_services.payout_resend(
                actor=Actor.system("claims.payout_corrections_apply"),
                payout_id=correction.payout_id,
                payee=_payee_input(correction),
                reason=f"corrected details reviewed by {correction.reviewed_by}",
            )
            correction.status, correction.applied_at = PayoutCorrection.Status.APPLIED, now
            correction.save(update_fields=["status", "applied_at"])
        applied += 1
    return applied
