"""Template filters every template has without {% load %} (settings.TEMPLATES "builtins"): how numbers read.

`quantity`: a crypto-asset quantity as people write it — thousands separators, no padding zeros, never an
exponent (Decimal.normalize() alone turns 1000 into "1E+3"): Decimal("1000.50000000") -> "1,000.5".
"""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


def format_quantity(value: Decimal | int | str | None) -> str:
    """1,000.5 for Decimal("1000.50000000"); "—" when missing. Exact: no rounding, no float."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    text = f"{number:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, fraction = digits.partition(".")
    grouped = f"{int(whole):,}"
    if sign and grouped == "0" and not fraction:
        sign = ""  # -0 reads as 0
    return f"{sign}{grouped}.{fraction}" if fraction else f"{sign}{grouped}"


@register.filter
def quantity(value: Decimal | int | str | None) -> str:
    return format_quantity(value)
