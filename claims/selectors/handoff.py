"""Reads for the hand-off to reserves: what each approved claim is owed and how it is paid, unmasked."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from claims.models import Claim, ClaimLine, PayoutAddress, PayoutChoice
from core.lookups import any_of
from core.money import jpy_value
from reserves import selectors as reserve_selectors


@dataclass(frozen=True)
class PayoutLine:
    symbol: str
    quantity: Decimal
    reference_price_jpy: Decimal
    value_jpy: int


@dataclass(frozen=True)
class ClaimPayoutDetail:
    """Everything a payout needs for one approved claim, with the full (unmasked) payout choice."""

    claim_id: int
    ref: str
    incident_code: str
    customer_account_id: str
    customer_name: str
    approved_amount_jpy: int
    lines: list[PayoutLine]
    payout: dict[str, Any]


_BANK_FIELDS = (
    "bank_code",
    "bank_name",
    "branch_code",
    "branch_name",
    "account_type",
    "account_number",
    "holder_name_kana",
)


def claim_payout_details(*, claim_ids: list[int]) -> list[ClaimPayoutDetail]:
    """For the payout side: approved claims by id (others are left out), lines at their decided quantities.

    Five flat queries whatever the count (the hand-off reads 5,000 claims at a time): no model instances.
    """
    claims = list(
        Claim.objects.filter(
            any_of("pk", claim_ids), status__in=[Claim.Status.APPROVED, Claim.Status.PARTLY_PAID, Claim.Status.PAID]
        )
        .order_by("pk")
        .values_list("pk", "ref", "incident__code", "customer__account_id", "customer__name", "approved_amount_jpy")
    )
    # Details changed within the cooling-off period are not used yet: those claims wait (the sweep returns).
    cooling = set(
        PayoutChoice.objects.filter(
            any_of("claim_id", [row[0] for row in claims]), effective_at__gt=timezone.now()
        ).values_list("claim_id", flat=True)
    )
    claims = [row for row in claims if row[0] not in cooling]
    ids = [row[0] for row in claims]
    payouts = _payout_choices(ids)
    lines = _payout_lines(ids)
    details = []
    for pk, ref, incident_code, account_id, name, approved_jpy in claims:
        if approved_jpy is None:  # approved and paid claims always have it (a database CHECK)
            raise ValueError(f"claim {ref} is approved without an approved amount")
        details.append(
            ClaimPayoutDetail(
                claim_id=pk,
                ref=ref,
                incident_code=incident_code,
                customer_account_id=account_id,
                customer_name=name,
                approved_amount_jpy=approved_jpy,
                lines=lines.get(pk, []),
                payout=payouts[pk],
            )
        )
    return details


def _payout_choices(claim_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each claim's payout choice, unmasked: the bank account, or the address per asset paid in kind."""
    choices = {
        row["claim_id"]: row
        for row in PayoutChoice.objects.filter(any_of("claim_id", claim_ids)).values(
            "claim_id", "pk", "method", *_BANK_FIELDS
        )
    }
    in_kind = [row["pk"] for row in choices.values() if row["method"] == PayoutChoice.Method.IN_KIND]
    addresses: dict[int, dict[str, str]] = {}
    for choice_id, symbol, address in PayoutAddress.objects.filter(payout_id__in=in_kind).values_list(
        "payout_id", "asset__symbol", "address"
    ):
        addresses.setdefault(choice_id, {})[symbol] = address
    return {
        claim_id: {"method": row["method"], **{name: row[name] for name in _BANK_FIELDS}}
        if row["method"] == PayoutChoice.Method.BANK
        else {"method": row["method"], "addresses": addresses.get(row["pk"], {})}
        for claim_id, row in choices.items()
    }


def _payout_lines(claim_ids: list[int]) -> dict[int, list[PayoutLine]]:
    """Each claim's lines at the quantities decided (an upheld appeal's, else the approved), valued."""
    lines: dict[int, list[PayoutLine]] = {}
    for claim_id, symbol, decided, approved, price in (
        ClaimLine.objects.filter(any_of("claim_id", claim_ids))
        .order_by("claim_id", "asset__symbol")
        .values_list("claim_id", "asset__symbol", "decided_quantity", "approved_quantity", "asset__reference_price_jpy")
    ):
        quantity = decided if decided is not None else approved
        value = jpy_value(quantity, price)  # a TypeError if the asset has no price: approval needs one
        assert price is not None
        lines.setdefault(claim_id, []).append(
            PayoutLine(symbol=symbol, quantity=quantity, reference_price_jpy=price, value_jpy=value)
        )
    return lines


# Claims reserves owes money to (or has paid in full): what the hand-off registers.
PAYABLE = [Claim.Status.APPROVED, Claim.Status.PARTLY_PAID, Claim.Status.PAID]


def claims_awaiting_hand_off() -> list[int]:
    """Approved or (partly) paid claims that reserves does not know, or knows at less than their approved amount."""
    registered = reserve_selectors.entitlements_by_ref().filter(claim_ref=OuterRef("ref")).values("eligible_jpy")[:1]
    return list(
        Claim.objects.filter(status__in=PAYABLE)
        .annotate(registered=Subquery(registered))
        .filter(Q(registered__isnull=True) | Q(registered__lt=F("approved_amount_jpy")))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
