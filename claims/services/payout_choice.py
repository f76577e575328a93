"""How a claimant is paid: a Japanese bank account (checked against the Zengin data), the exchange account, or in kind.

FTX claimants were phished into changing where they were paid, so every change
of payout details after filing (`claim_payout_set`):

1. needs the password again, and the second factor when the customer enrolled
   one (accounts.second_factor.reauthenticate);
2. is announced to the e-mail on file (after commit), so a customer whose
   account was taken over learns of it;
3. waits a cooling-off period (PAYOUT_DETAILS_COOLING_OFF_HOURS, default 72)
   before a payout may use it: the hand-off to reserves skips a choice whose
   `effective_at` is in the future;
4. has its bank account holder compared with the registered name (holder_names).

Which methods an incident offers, and its default, are elections.py's.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.second_factor import reauthenticate
from audit.services import event_record
from claims.models import Claim, Customer, Incident, PayoutAddress, PayoutChoice
from claims.services._shared import PAYOUT_LOCKED, claim_lock_for_customer, notify
from claims.services.elections import election_check_open, election_resolve
from claims.services.holder_names import name_check
from core.errors import ApplicationError, InvalidInput
from core.zengin import ACCOUNT_NUMBER, bank_branch, holder_name_normalise
from reserves.addresses import AddressError, address_check

ADDRESS_PATTERN = re.compile(r"^[A-Za-z0-9:_\-.]{20,128}$")


@dataclass(frozen=True)
class PayoutInput:
    method: str
    bank_code: str = ""
    branch_code: str = ""
    account_type: str = ""
    account_number: str = ""
    holder_name: str = ""
    addresses: dict[str, str] = field(default_factory=dict)


def payout_resolve(*, incident: Incident, payout: PayoutInput) -> dict[str, Any]:
    """The checked, normalised payout choice; raises InvalidInput naming payout.<field>."""
    elected = election_resolve(incident=incident, method=payout.method)
    if elected is not None:
        return elected
    if payout.method == PayoutChoice.Method.BANK:
        return _bank_resolve(payout)
    if payout.method == PayoutChoice.Method.IN_KIND:
        return _in_kind_resolve(incident, payout)
    raise InvalidInput(
        "invalid", _("Choose how to be paid."), extra={"fields": {"payout.method": [_("must be bank or in_kind")]}}
    )


def _invalid(what: str, fields: dict[str, str]) -> InvalidInput:
    return InvalidInput(
        "invalid",
        _("Invalid payout %(what)s: %(value)s.") % {"what": what, "value": ", ".join(fields)},
        extra={"fields": {f"payout.{k}": [v] for k, v in fields.items()}},
    )


def _bank_resolve(payout: PayoutInput) -> dict[str, Any]:
    """A Japanese bank account: codes from the Zengin data, the holder's name as a transfer carries it."""
    found, fields = bank_branch(payout.bank_code, payout.branch_code)
    if payout.account_type not in PayoutChoice.AccountType.values:
        fields["account_type"] = _("must be 1 (ordinary), 2 (current) or 4 (savings)")
    if not ACCOUNT_NUMBER.match(payout.account_number or ""):
        fields["account_number"] = _("must be 7 digits")
    holder = holder_name_normalise(payout.holder_name)
    if holder is None:
        fields["holder_name"] = _("must be the account holder's name in katakana (at most 30 characters)")
    if fields or found is None:
        raise _invalid("account", fields)
    return {
        "method": payout.method,
        "bank_code": found.bank_code,
        "bank_name": found.bank_name,
        "branch_code": found.branch_code,
        "branch_name": found.branch_name,
        "account_type": payout.account_type,
        "account_number": payout.account_number,
        "holder_name_kana": holder,
        "addresses": {},
    }


def _in_kind_resolve(incident: Incident, payout: PayoutInput) -> dict[str, Any]:
    """An address per asset to be paid in kind, where the incident allows it."""
    if not incident.allows_in_kind:
        raise ApplicationError(
            "in_kind_not_allowed", _("Incident %(code)s pays in yen only.") % {"code": incident.code}
        )
    assets = {a.symbol: a for a in incident.assets.all()}
    fields: dict[str, str] = {}
    addresses = {}
    for symbol, address in (payout.addresses or {}).items():
        if symbol not in assets:
            fields[f"addresses.{symbol}"] = _("unknown asset %(symbol)r") % {"symbol": symbol}
        elif not isinstance(address, str) or not ADDRESS_PATTERN.match(address.strip()):
            fields[f"addresses.{symbol}"] = _("must be 20-128 letters, digits or : _ - .")
        elif (problem := _address_problem(symbol, address)) is not None:
            fields[f"addresses.{symbol}"] = problem
        else:
            addresses[symbol] = address.strip()
    if not addresses and not fields:
        fields["addresses"] = _("give an address for each asset to be paid in kind")
    if fields:
        raise _invalid("addresses", fields)
    return {"method": payout.method, "addresses": addresses}


def _address_problem(symbol: str, address: str) -> str | None:
    """The per-asset address rule (Bitcoin checksums, EIP-55, ...), as a message; None when valid."""
    try:
        address_check(symbol=symbol, address=address)
    except AddressError as exc:
        return str(exc)
    return None


def payout_write(*, claim: Claim, resolved: dict[str, Any], new: bool = False) -> PayoutChoice:
    """Create or replace the claim's payout choice. Caller holds the claim lock, inside its transaction.

    `new`: the claim was created in this transaction and has no choice yet (one INSERT, nothing to replace).
    """
    addresses = resolved.get("addresses", {})
    values = {k: v for k, v in resolved.items() if k not in {"method", "addresses"}}
    values.setdefault("source", PayoutChoice.Source.CUSTOMER)
    blank = {
        "bank_code": "",
        "bank_name": "",
        "branch_code": "",
        "branch_name": "",
        "account_type": "",
        "account_number": "",
        "holder_name_kana": "",
    }
    if new:
        choice = PayoutChoice.objects.create(claim=claim, **{**blank, **values, "method": resolved["method"]})
    else:
        choice, _ = PayoutChoice.objects.update_or_create(
            claim=claim, defaults={**blank, **values, "method": resolved["method"]}
        )
        choice.addresses.all().delete()
    if addresses:
        assets = {a.symbol: a for a in claim.incident.assets.all()}
        PayoutAddress.objects.bulk_create(
            [PayoutAddress(payout=choice, asset=assets[s], address=a) for s, a in sorted(addresses.items())]
        )
    return choice


def payout_is_locked(claim: Claim) -> bool:
    """Whether the payout choice can no longer change: the claim is approved, or has a first approval."""
    return claim.status in PAYOUT_LOCKED or claim.approvals.exists()


def payout_masked(choice: PayoutChoice | None) -> dict[str, Any]:
    """The payout choice as pages, the API, emails and audit data may show it (account number masked)."""
    if choice is None:
        return {}
    if choice.method == PayoutChoice.Method.BANK:
        return {
            "method": choice.method,
            "bank_code": choice.bank_code,
            "bank_name": choice.bank_name,
            "branch_code": choice.branch_code,
            "branch_name": choice.branch_name,
            "account_type": choice.account_type,
            "account_number": choice.account_number_masked,
            "holder_name_kana": choice.holder_name_kana,
        }
    return {"method": choice.method, "addresses": {a.asset.symbol: a.address for a in choice.addresses.all()}}


@transaction.atomic(durable=True)
def claim_payout_set(
    *,
    customer: Customer,
    claim: Claim,
    payout: PayoutInput,
    password: str,
    otp_token: str = "",
    passkey_verified: bool = False,
) -> PayoutChoice:
    """Change how the claim is to be paid; refused once it is approved (the choice is then locked).

    Guarded (the module docstring): password and second factor again, a notice
    e-mail, a cooling-off period before a payout may use the new details.
    """
    reauthenticate(user=customer.user, password=password, otp_token=otp_token, passkey_verified=passkey_verified)
    claim = claim_lock_for_customer(customer=customer, claim=claim)
    election_check_open(claim=claim)
    if payout_is_locked(claim):
        raise ApplicationError(
            "payout_locked", _("Claim %(ref)s is approved; its payout choice is locked.") % {"ref": claim.ref}
        )
    if claim.status == Claim.Status.REJECTED:
        raise ApplicationError("claim_decided", _("Claim %(ref)s was rejected.") % {"ref": claim.ref})
    before = payout_masked(getattr(claim, "payout", None))
    choice = payout_write(claim=claim, resolved=payout_resolve(incident=claim.incident, payout=payout))
    choice_guard(choice=choice, customer=customer, changed=True)
    event_record(
        actor=customer.user,
        action="claim.payout_changed",
        subject=claim,
        data={"before": before, "after": payout_masked(choice)},
    )
    return choice


def cooling_off_end(now: dt.datetime | None = None) -> dt.datetime:
    """When details changed now may first be used for a payout."""
    return (now or timezone.now()) + dt.timedelta(hours=settings.PAYOUT_DETAILS_COOLING_OFF_HOURS)


def choice_guard(*, choice: PayoutChoice, customer: Customer, changed: bool) -> PayoutChoice:
    """Name check on every choice; a change after filing also starts the cooling-off and e-mails a notice.

    Caller's transaction, claim locked (claim_file, claim_payout_set).
    """
    wanted: dict[str, Any] = {
        "name_check": name_check(customer=customer, method=choice.method, holder_kana=choice.holder_name_kana),
        "name_accepted_by": "",
        "name_accepted_reason": "",
    }
    if changed:
        wanted["effective_at"] = cooling_off_end()
        notify(choice.claim, "payout_details_changed")
    fields = [name for name, value in wanted.items() if getattr(choice, name) != value]
    for name in fields:
        setattr(choice, name, wanted[name])
    if fields:  # a new choice whose name check passes is already as it should be: no UPDATE
        choice.save(update_fields=fields)
    return choice
