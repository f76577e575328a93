"""The hash chain's rules, as pure functions over plain dicts.

An event's hash is SHA-256 over the canonical JSON of its HASHED_FIELDS:
keys sorted, no spaces, UTF-8, times as UTC ISO-8601 with microseconds and a
"Z". `prev_hash` of the first event is GENESIS_HASH. audit/offline_verify.py
restates these rules without importing the project; keep the two in step.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
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
    "prev_hash",
)


def format_time(value: dt.datetime) -> str:
    """UTC, microseconds, trailing Z: the one time format that is hashed."""
    if value.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return format_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not allowed in audit data")


def _reject_floats(value: Any) -> None:
    # Floats do not survive a jsonb round trip unchanged (1e20 comes back as an
    # int), which would break the hash; money and rates travel as str/int.
    if isinstance(value, float):
        raise TypeError("floats are not allowed in audit data; use int or a Decimal string")
    if isinstance(value, dict):
        for item in value.values():
            _reject_floats(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _reject_floats(item)


def canonical_json(value: Any) -> bytes:
    """The canonical encoding that is hashed and exported."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default).encode(
        "utf-8"
    )


def normalise_data(data: dict[str, Any]) -> dict[str, Any]:
    """Turn Decimals, times and UUIDs into the JSON values that will be stored and hashed."""
    _reject_floats(data)
    return json.loads(canonical_json(data))


def event_hash(fields: dict[str, Any]) -> str:
    """SHA-256 (hex) of an event's HASHED_FIELDS; `created_at` must already be formatted."""
    return hashlib.sha256(canonical_json({name: fields[name] for name in HASHED_FIELDS})).hexdigest()


def data_canonical(data: dict[str, Any]) -> str:
    """The canonical JSON text of event data (floats refused): what is stored and hashed."""
    _reject_floats(data)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


class BatchHasher:
    """event_hash for bulk writers: the same bytes, assembled without re-encoding each event's fields.

    The fields shared by a batch (actor, role, time, request id) are encoded
    once; `data_json` is data_canonical(data). Keys appear in sorted order, as
    canonical_json writes them. tests/audit check it against event_hash.
    """

    def __init__(self, *, created_at: str, actor_id: int | None, actor: str, role: str, request_id: str) -> None:
        enc = self._enc
        self._actor = f',"actor":{enc(actor)},"actor_id":{enc(actor_id)},"created_at":{enc(created_at)},"data":'
        self._request = f',"request_id":{enc(request_id)},"role":{enc(role)},"seq":'

    @staticmethod
    def _enc(value: str | int | None) -> str:
        return json.dumps(value, ensure_ascii=False)

    def hash(self, *, seq: int, action: str, subject_type: str, subject_id: str, data_json: str, prev_hash: str) -> str:
        enc = self._enc
        text = (
            f'{{"action":{enc(action)}{self._actor}{data_json},"prev_hash":"{prev_hash}"'
            f'{self._request}{seq},"subject_id":{enc(subject_id)},"subject_type":{enc(subject_type)}}}'
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def checkpoint_document(*, seq: int, hash: str, signed_at: str, key_id: str) -> dict[str, Any]:
    """What a checkpoint's Ed25519 signature covers (its canonical JSON)."""
    return {"type": "audit.checkpoint", "seq": seq, "hash": hash, "signed_at": signed_at, "key_id": key_id}


RECEIPT_ACTION = "receipt.issued"


def payload_hash_of(payload: Any) -> str:
    """SHA-256 (hex) of a receipt payload's canonical JSON, as its receipt event records it."""
    return hashlib.sha256(canonical_json(payload)).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str = ""


def chain_check(events: Iterable[dict[str, Any]], *, after_seq: int = 0, after_hash: str = GENESIS_HASH) -> ChainCheck:
    """Walk events in sequence order and report the first one that breaks the chain.

    Each event dict holds HASHED_FIELDS plus "hash". A missing sequence number,
    a wrong link to the previous hash or a hash that does not match the content
    is reported with the sequence number where the chain first breaks. To check
    only a tail, pass the trusted event before it as `after_seq`/`after_hash`.
    """
    expected_seq = after_seq + 1
    prev_hash = after_hash
    checked = 0
    for event in events:
        seq = event["seq"]
        if seq != expected_seq:
            problem = f"expected sequence {expected_seq}, found {seq} (an event is missing or out of order)"
            return ChainCheck(False, checked, expected_seq - 1, prev_hash, expected_seq, problem)
        if event["prev_hash"] != prev_hash:
            return ChainCheck(False, checked, seq - 1, prev_hash, seq, "prev_hash does not link to the event before")
        if event_hash(event) != event["hash"]:
            return ChainCheck(False, checked, seq - 1, prev_hash, seq, "content does not match its hash (altered)")
        prev_hash = event["hash"]
        expected_seq += 1
        checked += 1
    return ChainCheck(True, checked, expected_seq - 1, prev_hash)
