from decimal import Decimal

from django import template

from core.money import format_rate

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
