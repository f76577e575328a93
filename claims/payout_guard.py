"""Guarding payout details, and correcting them after a payout came back (docs/rails.md, "Returned payouts").

FTX claimants were phished into changing where they were paid; so every
change of payout details after filing:

1. needs the password again, and the TOTP code when the customer enrolled a
   second factor (`reauthenticate`);
2. is announced to the e-mail on file (after commit), so a customer whose
   account was taken over learns of it;
3. waits a cooling-off period (PAYOUT_DETAILS_COOLING_OFF_HOURS, default 72)
   before a payout may use it: the hand-off to reserves skips a choice whose
   `effective_at` is in the future, a correction is applied only after it;
4. compares the bank account holder (katakana, normalised) with the customer's
   registered name; a mismatch is flagged in the review queue and needs an
   explicit reviewer decision with a reason.

After a payout is returned (reserves' payout_returned signal) the customer is
told why in their language and asked for corrected details
(`payout_correction_request`); a reviewer accepts or rejects them
(`payout_correction_review`); `payout_corrections_apply` (celery beat) sends
the accepted ones again once their cooling-off period is over, through
reserves.returns.payout_resend, which pays each returned payout at most once.
"""

import datetime as dt
import unicodedata
from functools import partial
from typing import Any

import jaconv
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from audit.services import Actor, event_record
from claims.models import Claim, Customer, PayoutChoice, PayoutCorrection
from config.errors import ApplicationError, Conflict, NotFound
from reserves import services as reserve_services

_SMALL_TO_LARGE = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
# After NFKC full-width punctuation is ASCII already.
_DROPPED = set(" \u3000・･.-ー()")


class ReauthenticationFailed(ApplicationError):
    def __init__(self, detail: str) -> None:
        super().__init__("reauthentication_failed", detail, status=403)


def reauthenticate(*, user: Any, password: str, otp_token: str = "", passkey_verified: bool = False) -> None:
    """The password again, and a second factor if the customer enrolled one; raises ReauthenticationFailed.

    The second factor is the current TOTP code, or a passkey used within
    PASSKEY_REAUTH_SECONDS in this session (`passkey_recently_used`, checked by the view).
    """
    if user is None or not password or not user.check_password(password):
        raise ReauthenticationFailed(_("Enter your password again to change where you are paid."))
    totp = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if totp is not None and otp_token and totp.verify_token(otp_token.strip()):
        return
    has_passkey = WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()
    if has_passkey and passkey_verified:
        return
    if totp is not None or has_passkey:
        raise ReauthenticationFailed(
            _("Confirm with your second factor: the code from your authenticator app, or your passkey.")
        )


def passkey_recently_used(request: Any) -> bool:
    """Whether this session was verified with one of the user's passkeys within PASSKEY_REAUTH_SECONDS."""
    device = getattr(request.user, "otp_device", None)
    if not isinstance(device, WebAuthnCredential) or device.user_id != request.user.pk:
        return False
    used = WebAuthnCredential.objects.filter(pk=device.pk).values_list("last_used_at", flat=True).first()
    return used is not None and timezone.now() - used <= dt.timedelta(seconds=settings.PASSKEY_REAUTH_SECONDS)


def kana_normalise(text: str) -> str:
    """Full-width katakana without spaces, middle dots or long-vowel marks, small kana written large."""
    value = unicodedata.normalize("NFKC", text or "")
    value = jaconv.hira2kata(jaconv.h2z(value, kana=True, ascii=False, digit=False))
    value = unicodedata.normalize("NFKC", value).translate(_SMALL_TO_LARGE).upper()
    return "".join(ch for ch in value if ch not in _DROPPED)


def _is_katakana(text: str) -> bool:
    return bool(text) and all("\u30a0" <= ch <= "\u30ff" for ch in text)


def registered_kana(customer: Customer) -> str:
    """The registered name in katakana: `name_kana`, or the name itself when the exchange holds it in kana."""
    for candidate in (customer.name_kana, customer.name):
        normalised = kana_normalise(candidate)
        if _is_katakana(normalised):
            return normalised
    return ""


def name_check(*, customer: Customer, method: str, holder_kana: str) -> str:
    """ "match" or "mismatch" for a bank account; "" when not a bank account or no kana name is registered.

    Without a registered kana name nothing can be compared (the snapshot's
    optional name_kana column fills it); the reviewer sees the holder name as before.
    """
    registered = registered_kana(customer)
    if method != PayoutChoice.Method.BANK or not registered:
        return PayoutChoice.NameCheck.NOT_APPLICABLE
    if registered == kana_normalise(holder_kana):
        return PayoutChoice.NameCheck.MATCH
    return PayoutChoice.NameCheck.MISMATCH


def cooling_off_end(now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()) + dt.timedelta(hours=settings.PAYOUT_DETAILS_COOLING_OFF_HOURS)


def _notice_later(claim: Claim, kind: str, note: str = "") -> None:
    from claims.tasks import claim_notify

    transaction.on_commit(partial(claim_notify.delay, claim.pk, kind, note))


def choice_guard(*, choice: PayoutChoice, customer: Customer, changed: bool) -> PayoutChoice:
    """Name check on every choice; a change after filing also starts the cooling-off and e-mails a notice.

    Caller's transaction, claim locked (claim_file, claim_payout_set).
    """
    choice.name_check = name_check(customer=customer, method=choice.method, holder_kana=choice.holder_name_kana)
    choice.name_accepted_by, choice.name_accepted_reason = "", ""
    fields = ["name_check", "name_accepted_by", "name_accepted_reason"]
    if changed:
        choice.effective_at = cooling_off_end()
        fields.append("effective_at")
        _notice_later(choice.claim, "payout_details_changed")
    choice.save(update_fields=fields)
    return choice


@transaction.atomic(durable=True)
def payout_name_accept(*, actor: Any, claim: Claim, reason: str) -> PayoutChoice:
    """A reviewer's explicit decision that a holder name which differs from the registered name is right."""
    if not reason.strip():
        raise ApplicationError("reason_required", _("Say why the account holder's name is accepted."))
    claim = Claim.objects.select_for_update(of=("self",), no_key=True).get(pk=claim.pk)
    choice = PayoutChoice.objects.select_for_update(of=("self",), no_key=True).filter(claim=claim).first()
    if choice is None or choice.name_check != PayoutChoice.NameCheck.MISMATCH:
        raise Conflict("no_mismatch", _("This claim's payout account has no name mismatch to decide."))
    who = Actor.of(actor)
    choice.name_accepted_by, choice.name_accepted_reason = who.name, reason.strip()
    choice.save(update_fields=["name_accepted_by", "name_accepted_reason"])
    event_record(
        actor=actor,
        action="claim.payout_name_accepted",
        subject=claim,
        data={"holder_name_kana": choice.holder_name_kana, "reason": reason.strip()},
    )
    return choice


def name_decision_missing(claim: Claim) -> bool:
    """Whether approval must wait for a reviewer's decision on a holder-name mismatch."""
    choice = PayoutChoice.objects.filter(claim=claim).only("name_check", "name_accepted_by").first()
    return bool(choice and choice.name_check == PayoutChoice.NameCheck.MISMATCH and not choice.name_accepted_by)


# --- After a payout came back ----------------------------------------------------------------------


def payout_returned_received(
    sender: object, claim_ref: str, payout_id: int, reason_code: str, reason: str, **kwargs: object
) -> None:
    """reserves' payout_returned (inside its transaction): tell the customer after commit, in their language."""
    claim = Claim.objects.filter(ref=claim_ref).only("pk").first()
    if claim is not None:
        _notice_later(claim, "payout_returned", reason_code)


def _details(*, claim: Claim, payout: Any) -> tuple[str, dict]:
    """Checked details as the payout side wants them (claims' own rules, then reserves' PayeeInput's)."""
    from claims.services import _payout_resolve

    if payout.method == PayoutChoice.Method.EXCHANGE:
        return "exchange", {"account_id": claim.customer.account_id}
    resolved = _payout_resolve(incident=claim.incident, payout=payout)
    return resolved["method"], {k: v for k, v in resolved.items() if k != "method"}


def returned_payout_for(claim: Claim) -> dict | None:
    """The claim's payout that came back and awaits corrected details (returned or unclaimed), if any."""
    from reserves import rail_selectors

    return rail_selectors.payout_awaiting_correction(claim_ref=claim.ref)


@transaction.atomic(durable=True)
def payout_correction_request(
    *, customer: Customer, claim: Claim, payout: Any, password: str, otp_token: str = "", passkey_verified: bool = False
) -> PayoutCorrection:
    """The customer's corrected details for a returned payout: guarded, then waiting for a reviewer."""
    reauthenticate(user=customer.user, password=password, otp_token=otp_token, passkey_verified=passkey_verified)
    claim = (
        Claim.objects.select_for_update(of=("self",), no_key=True)
        .select_related("incident", "customer")
        .get(pk=claim.pk, customer=customer)
    )
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
    _notice_later(claim, "payout_details_changed")
    return correction


@transaction.atomic(durable=True)
def payout_correction_review(
    *, actor: Any, correction: PayoutCorrection, accept: bool, reason: str
) -> PayoutCorrection:
    """A reviewer accepts (a name mismatch only with a reason) or rejects corrected details."""
    correction = PayoutCorrection.objects.select_for_update(of=("self",), no_key=True).filter(pk=correction.pk).first()
    if correction is None:
        raise NotFound("not_found", "No such correction.")
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
        _notice_later(correction.claim, "payout_correction_rejected", reason.strip())
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
    from reserves.returns import payout_resend

    now = now or timezone.now()
    applied = 0
    for correction_id in PayoutCorrection.objects.filter(
        status=PayoutCorrection.Status.ACCEPTED, effective_at__lte=now
    ).values_list("id", flat=True):
        # One transaction: the correction is marked applied exactly when its payout is sent again.
        with transaction.atomic(durable=True):
            correction = (
                PayoutCorrection.objects.select_for_update(of=("self",), skip_locked=True, no_key=True)
                .filter(pk=correction_id, status=PayoutCorrection.Status.ACCEPTED)
                .first()
            )
            if correction is None:
                continue
            payout_resend(
                actor=Actor.system("claims.payout_corrections_apply"),
                payout_id=correction.payout_id,
                payee=_payee_input(correction),
                reason=f"corrected details reviewed by {correction.reviewed_by}",
            )
            correction.status, correction.applied_at = PayoutCorrection.Status.APPLIED, now
            correction.save(update_fields=["status", "applied_at"])
        applied += 1
    return applied


# --- Registered names in katakana -------------------------------------------------------------------


@transaction.atomic(durable=True)
def customer_kana_import(*, actor: Any, rows: list[tuple[str, str]]) -> int:
    """Set customers' registered katakana names (account_id, name_kana) from the exchange's records.

    Unknown accounts and names that are not katakana are skipped; returns how many changed.
    One audit event lists the accounts changed.
    """
    wanted = {account_id.strip(): kana.strip() for account_id, kana in rows if _is_katakana(kana_normalise(kana))}
    changed = []
    for customer in Customer.objects.select_for_update(of=("self",), no_key=True).filter(account_id__in=wanted):
        if customer.name_kana != wanted[customer.account_id]:
            customer.name_kana = wanted[customer.account_id]
            customer.save(update_fields=["name_kana"])
            changed.append(customer.account_id)
    if changed:
        event_record(
            actor=actor,
            action="customers.name_kana_imported",
            subject=("claims.customer", "bulk"),
            data={"count": len(changed), "accounts": changed[:1000]},
        )
    return len(changed)
