import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def as_json(value: Any) -> str:
    """Event data as compact JSON (as it is hashed), not Python's repr."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


@register.simple_tag(takes_context=True)
def receipt_label(context: template.Context, name: str) -> str:
    """A payload field's label for people from the context's `labels` (the key itself when there is none)."""
    return str((context.get("labels") or {}).get(name, name))


def _receipt_value(value: Any, yen: bool) -> str:
    if yen and isinstance(value, int) and not isinstance(value, bool):
        return f"¥{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_receipt_value(v, yen)}" for k, v in value.items())
    return "" if value is None else str(value)


@register.filter
def receipt_lines(value: Any, name: str = "") -> list[str]:
    """A payload value as lines of text: one per key of an object or item of a list; yen under `*_jpy` keys."""
    yen = str(name).endswith("_jpy")
    if isinstance(value, dict):
        return [f"{k}: {_receipt_value(v, yen)}" for k, v in value.items()]
    if isinstance(value, list):
        return [_receipt_value(item, yen) for item in value]
    return [_receipt_value(value, yen)]
