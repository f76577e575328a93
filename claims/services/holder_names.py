"""Holder names: the bank account holder's name compared with the customer's registered name in katakana.

FTX claimants were phished into changing where they were paid, so a holder
name that differs from the registered one is flagged in the review queue and
needs a reviewer's explicit decision, with a reason, before the claim can be
approved. Names are compared in the form a Zengin record carries them
(core/zengin.py), without spaces, middle dots, long-vowel marks, hyphens or brackets.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import Actor, event_record
from claims.models import Claim, Customer, PayoutChoice
from core.errors import ApplicationError, Conflict
from core.locks import locked
from core.types import User
from core.zengin import ZenginError, to_zengin_kana

# Left out when names are compared: spacing and punctuation differ between records of the same name.
_IGNORED = set(" ・･.-()")
_HALF_WIDTH_KANA = frozenset(chr(c) for c in range(0xFF71, 0xFFA0))


def kana_normalise(text: str) -> str:
    """A name in the form it is compared in: Zengin kana without spaces and punctuation ("" when not kana)."""
    try:
        value = to_zengin_kana("".join(ch for ch in text or "" if ch not in "・･"))
    except ZenginError:
        return ""
    return "".join(ch for ch in value if ch not in _IGNORED)


def is_kana_name(text: str) -> bool:
    """Whether a normalised name is katakana only (not Latin letters or digits)."""
    return bool(text) and all(ch in _HALF_WIDTH_KANA for ch in text)


def registered_kana(customer: Customer) -> str:
    """The registered name in kana: `name_kana`, or the name itself when the exchange holds it in kana."""
    for candidate in (customer.name_kana, customer.name):
        normalised = kana_normalise(candidate)
        if is_kana_name(normalised):
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


def name_decision_missing(claim: Claim) -> bool:
    """Whether approval must wait for a reviewer's decision on a holder-name mismatch."""
    choice = PayoutChoice.objects.filter(claim=claim).only("name_check", "name_accepted_by").first()
    return bool(choice and choice.name_check == PayoutChoice.NameCheck.MISMATCH and not choice.name_accepted_by)


@transaction.atomic(durable=True)
def payout_name_accept(*, actor: User, claim: Claim, reason: str) -> PayoutChoice:
    """A reviewer's explicit decision that a holder name which differs from the registered name is right."""
    if not reason.strip():
        raise ApplicationError("reason_required", _("Say why the account holder's name is accepted."))
    claim = locked(Claim.objects).get(pk=claim.pk)
    choice = locked(PayoutChoice.objects).filter(claim=claim).first()
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


@transaction.atomic(durable=True)
def customer_kana_import(*, actor: User | Actor, rows: list[tuple[str, str]]) -> int:
    """Set customers' registered katakana names (account_id, name_kana) from the exchange's records.

    Unknown accounts and names that are not katakana are skipped; returns how many changed.
    One audit event lists the accounts changed.
    """
    wanted = {account_id.strip(): kana.strip() for account_id, kana in rows if is_kana_name(kana_normalise(kana))}
    changed = []
    for customer in locked(Customer.objects).filter(account_id__in=wanted):
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
