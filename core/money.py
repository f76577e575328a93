"""Money rules in one place.

Amounts of money are int yen (JPY has no minor unit). Asset quantities and
prices are Decimal. The one rounding rule: a JPY value is truncated to the
whole yen below (円未満切り捨て), per claim line, so that the sum of what is
promised can never exceed what the inputs justify.
"""

from decimal import ROUND_DOWN, Context, Decimal

# Wide enough that quantity (38 digits) x price (28 digits) is exact before truncation;
# the default context (28 digits) would round large products silently.
_EXACT = Context(prec=100)


def require_decimal(value: object, name: str = "value") -> Decimal:
    """Refuse floats (and anything else) where a Decimal is required."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"{name} must be Decimal or int, not {type(value).__name__}")
    return Decimal(value)


def require_yen(value: object, name: str = "amount") -> int:
    """Refuse floats, Decimals with fractions and bools where an int yen amount is required."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be int yen, not {type(value).__name__}")
    return value


def jpy_value(quantity: Decimal, price_jpy: Decimal | None) -> int:
    """The JPY value of `quantity` units at `price_jpy` per unit, truncated to whole yen.

    A missing price (None: the asset is not priced yet) is a TypeError, like a float.
    """
    product = _EXACT.multiply(require_decimal(quantity, "quantity"), require_decimal(price_jpy, "price_jpy"))
    return int(product.to_integral_value(rounding=ROUND_DOWN, context=_EXACT))


def format_jpy(amount: int) -> str:
    """¥1,234,567 — for pages and emails."""
    return f"¥{require_yen(amount):,}"


PERCENT_PLACES = Decimal("0.01")


def format_rate(rate: Decimal | str) -> str:
    """A rate (0-1) as a percentage with two fixed places, truncated so it never overstates: 0.645589 -> 64.55%."""
    percent = (Decimal(rate) * 100).quantize(PERCENT_PLACES, rounding=ROUND_DOWN)
    return f"{percent:f}%"


def format_percent(part: int, whole: int) -> str:
    """part / whole as a percentage (format_rate); 100.00% when there is nothing to pay."""
    return format_rate(Decimal(part) / Decimal(whole) if whole else Decimal(1))
