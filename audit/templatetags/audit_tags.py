import json
from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

from core.roles import ROLE_LABELS

register = template.Library()


@register.filter
def as_json(value: Any) -> str:
    """Event data as compact JSON (as it is hashed), not Python's repr."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


@register.filter
def as_json_pretty(value: Any) -> str:
    """Event data as indented JSON, to read in full."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2, default=str)


EMPTY = "\u2013"  # an en dash for an empty list or object


def _receipt_value(value: Any, yen: bool) -> str:
    if yen and isinstance(value, int) and not isinstance(value, bool):
        return f"¥{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_receipt_value(v, yen)}" for k, v in value.items())
    return "" if value is None else str(value)


def receipt_lines(value: Any, name: str = "") -> list[str]:
    """A payload value as lines of text: one per key of an object or item of a list; yen under `*_jpy` keys."""
    yen = str(name).endswith("_jpy")
    if isinstance(value, dict):
        return [f"{k}: {_receipt_value(v, yen)}" for k, v in value.items()] or [EMPTY]
    if isinstance(value, list):
        return [_receipt_value(item, yen) for item in value] or [EMPTY]
    return [_receipt_value(value, yen)]


@register.simple_tag(takes_context=True)
def receipt_rows(context: template.Context, payload: Any) -> list[tuple[str, str, list[str]]]:
    """(key, label, lines) for each payload field: labelled fields first, in the order of the context's `labels`."""
    labels = context.get("labels") or {}
    if not isinstance(payload, dict):
        return []
    order = {name: n for n, name in enumerate(labels)}
    names = sorted(payload, key=lambda name: (order.get(name, len(order)), name))
    return [(name, str(labels.get(name, name)), receipt_lines(payload[name], name)) for name in names]


ACTOR_KINDS = {"system": _("system"), "task": _("background task"), "anonymous": _("anonymous")}


@register.filter
def role_label(value: str) -> str:
    """An audit event's role (a person's role, or system/task) in the page's language."""
    return str(ROLE_LABELS.get(value) or ACTOR_KINDS.get(value) or value)  # type: ignore[call-overload]
