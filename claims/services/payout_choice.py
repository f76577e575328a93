"""How a claimant is paid: a Japanese bank account (checked against the Zengin data) or, where allowed, in kind."""

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import event_record
from claims.models import Claim, Customer, Incident, PayoutAddress, PayoutChoice
from claims.services._shared import PAYOUT_LOCKED, claim_lock_for_customer
from core.errors import ApplicationError, InvalidInput
from core.zengin import ACCOUNT_NUMBER, bank_branch, holder_name_normalise

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
    if payout.method == PayoutChoice.Method.BANK:
        return _bank_resolve(payout)
    if payout.method == PayoutChoice.Method.IN_KIND:
        return _in_kind_resolve(incident, payout)
    raise InvalidInput(
        "invalid", "Choose how to be paid.", extra={"fields": {"payout.method": ["must be bank or in_kind"]}}
    )


def _invalid(what: str, fields: dict[str, str]) -> InvalidInput:
    return InvalidInput(
        "invalid",
        f"Invalid payout {what}: {', '.join(fields)}.",
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
        else:
            addresses[symbol] = address.strip()
    if not addresses and not fields:
        fields["addresses"] = _("give an address for each asset to be paid in kind")
    if fields:
        raise _invalid("addresses", fields)
    return {"method": payout.method, "addresses": addresses}


def payout_write(*, claim: Claim, resolved: dict[str, Any]) -> PayoutChoice:
    """Create or replace the claim's payout choice. Caller holds the claim lock, inside its transaction."""
    addresses = resolved.get("addresses", {})
    values = {k: v for k, v in resolved.items() if k not in {"method", "addresses"}}
    blank = {
        "bank_code": "",
        "bank_name": "",
        "branch_code": "",
        "branch_name": "",
        "account_type": "",
        "account_number": "",
        "holder_name_kana": "",
    }
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
def claim_payout_set(*, customer: Customer, claim: Claim, payout: PayoutInput) -> PayoutChoice:
    """Change how the claim is to be paid; refused once it is approved (the choice is then locked)."""
    claim = claim_lock_for_customer(customer=customer, claim=claim)
    if payout_is_locked(claim):
        raise ApplicationError(
            "payout_locked", _("Claim %(ref)s is approved; its payout choice is locked.") % {"ref": claim.ref}
        )
    if claim.status == Claim.Status.REJECTED:
        raise ApplicationError("claim_decided", f"Claim {claim.ref} was rejected.")
    before = payout_masked(getattr(claim, "payout", None))
    choice = payout_write(claim=claim, resolved=payout_resolve(incident=claim.incident, payout=payout))
    event_record(
        actor=customer.user,
        action="claim.payout_changed",
        subject=claim,
        data={"before": before, "after": payout_masked(choice)},
    )
    return choice
