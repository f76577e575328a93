from decimal import Decimal

from django import template
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.money import format_rate
from reserves.models import Account, Entitlement, Payout

register = template.Library()


@register.filter
def yen(value: int | str | None) -> str:
    """¥1,234,567 (int yen; "—" when missing)."""
    if value is None or value == "":
        return "—"
    return f"¥{int(value):,}"


@register.filter
def signed_yen(value: int | str) -> str:
    """+¥1,000 into an account, -¥300,000 out of it."""
    amount = int(value)
    return f"+¥{amount:,}" if amount > 0 else f"-¥{-amount:,}" if amount < 0 else "¥0"


@register.filter
def percent(rate: Decimal | str | None) -> str:
    """A rate as a percentage with two fixed places, never overstated: 0.85 -> 85.00%, 0E-10 -> 0.00%."""
    if rate is None or rate == "":
        return "—"
    return format_rate(rate)


@register.filter
def days_until(moment, now) -> int:
    return (moment - now).days


# Stored codes in the words of the page's language (unknown codes are shown as they are).
RAIL_LABELS = {
    "sandbox": _("sandbox (test)"),
    "zengin": _("Zengin bank file"),
    "exchange": _("exchange account"),
    "wallet": _("wallet batch"),
}
SOURCE_RESERVE = "reserve"


@register.filter
def payout_status(value: str) -> str:
    """A payout's status ("paid") as a label ("支払済み")."""
    return _label(Payout.Status, value)


@register.filter
def payout_method(value: str) -> str:
    """How a payee is paid ("bank") as words ("銀行振込")."""
    return _label(Entitlement.Method, value)


@register.filter
def rail_label(value: str) -> str:
    return str(RAIL_LABELS.get(value, value))


@register.filter
def transfer_kind(value: str) -> str:
    """A ledger transfer's kind (funding, replenishment, draw, ...) as words."""
    return str(TRANSFER_KINDS.get(value, value))


@register.filter
def source_label(value: str) -> str:
    """A payout's source of funds: the reserve in words; a policy ("policy:TDM-1") by its number."""
    if value == SOURCE_RESERVE:
        return str(Account.Kind.RESERVE.label)
    return value.removeprefix("policy:")


TRANSFER_KINDS = {
    "funding": pgettext_lazy("transfer kind", "Funding"),  # money paid into the reserve, not "the fund"
    "replenishment": _("Replenishment"),
    "draw": _("Drawn for an incident"),
    "tranche": _("Reserve tranche"),
    "settlement": _("Insurance settlement"),
    "allocation": _("Allocated to payouts"),
    "payout": _("Paid out"),
}


def _label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


# Why an allocation round ran (the reason its caller gave, stored as is).
ROUND_REASONS = {
    "entitlement raised": _("an entitlement was raised"),
    "entitlements registered": _("new approved claims"),
    "fund settings changed": _("the fund's settings changed"),
    "holdback released": _("a holdback was released"),
    "insurer settlement": _("an insurer paid"),
    "released": _("payouts released"),
    "reserve funding": _("the reserve was funded"),
}


@register.filter
def round_reason(value: str) -> str:
    return str(ROUND_REASONS.get(value, value))
