"""An event's entry: the canonical JSON (RFC 8785) of its fields, whose leaf hash the tree holds.

An entry holds ENTRY_FIELDS; `created_at` is UTC ISO-8601 with microseconds
and a "Z". Event data is normalised before it is stored (normalise_data), so
what PostgreSQL's jsonb gives back encodes to the same bytes.
"""

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from uuid import UUID

from audit import tlog

ENTRY_FIELDS = (
    "seq",
    "created_at",
    "actor_id",
    "actor",
    "role",
    "action",
    "subject_type",
    "subject_id",
    "data",
    "request_id",
)


def format_time(value: dt.datetime) -> str:
    """UTC, microseconds, trailing Z: the one time format that is hashed."""
    if value.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plain(value: Any) -> Any:
    """Turn the Python values audit data may hold into JSON values (big integers become decimal strings)."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(item) for item in value)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if abs(value) <= tlog.MAX_SAFE_INTEGER else str(value)
    if isinstance(value, float):
        # Floats do not survive a jsonb round trip unchanged (1e20 comes back as an int), and
        # RFC 8785 numbers are binary doubles: money and rates travel as int or Decimal strings.
        raise TypeError("floats are not allowed in audit data; use int or a Decimal string")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return format_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not allowed in audit data")


def normalise_data(data: dict[str, Any]) -> dict[str, Any]:
    """The JSON value that is stored and hashed for `data`: Decimals, times and UUIDs as strings, floats refused."""
    return _plain(data)


def data_canonical(data: dict[str, Any]) -> str:
    """The canonical JSON text of normalised event data.

    Most data is plain JSON already: it is encoded as it is, and only data
    that needs normalising (Decimals, times, big integers) is copied first.
    """
    try:
        return tlog.canonical_json(data).decode("utf-8")
    except tlog.FormatError:
        pass
    try:
        return tlog.canonical_json(normalise_data(data)).decode("utf-8")
    except tlog.FormatError as exc:
        raise TypeError(str(exc)) from exc


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of a value that follows the audit data rules (TypeError otherwise)."""
    try:
        return tlog.canonical_json(_plain(value))
    except tlog.FormatError as exc:
        raise TypeError(str(exc)) from exc


def entry_bytes(fields: dict[str, Any]) -> bytes:
    """The entry of an event given as a dict of ENTRY_FIELDS (`created_at` already formatted, data normalised)."""
    return tlog.canonical_json({name: fields[name] for name in ENTRY_FIELDS})


class EntryEncoder:
    """entry_bytes for bulk writers: the same bytes, assembled without re-encoding the fields a batch shares.

    Actor, role, time and request id are encoded once; `data_json` is
    data_canonical(data). Keys appear in RFC 8785 order (all ASCII, so UTF-16
    order is byte order). tests/audit check it against entry_bytes.
    """

    def __init__(self, *, created_at: str, actor_id: int | None, actor: str, role: str, request_id: str) -> None:
        enc = self._enc
        self._actor = f',"actor":{enc(actor)},"actor_id":{enc(actor_id)},"created_at":{enc(created_at)},"data":'
        self._request = f',"request_id":{enc(request_id)},"role":{enc(role)},"seq":'

    @staticmethod
    def _enc(value: str | int | None) -> str:
        return json.dumps(value, ensure_ascii=False)

    def entry(self, *, seq: int, action: str, subject_type: str, subject_id: str, data_json: str) -> bytes:
        enc = self._enc
        text = (
            f'{{"action":{enc(action)}{self._actor}{data_json}{self._request}{seq},'
            f'"subject_id":{enc(subject_id)},"subject_type":{enc(subject_type)}}}'
        )
        return text.encode("utf-8")
