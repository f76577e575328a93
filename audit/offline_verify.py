#!/usr/bin/env python3
"""Verify an audit trail export offline: python offline_verify.py DIR [--trusted-key PEM] [--receipt JSON].

DIR is what `manage.py audit_export DIR` wrote: events.jsonl, checkpoints.jsonl,
public_key.pem and keys/*.pem. This script needs only Python 3.11+ and the
`cryptography` package; it imports nothing of the project, so a regulator can
read all of it. It restates the rules of audit/chain.py (a test keeps the two
in agreement):

- an event's hash is SHA-256 (hex) over the canonical JSON of its HASHED_FIELDS:
  keys sorted, separators "," and ":", no ASCII escaping, UTF-8;
- the first event's prev_hash is 64 zeros, every other one's is the hash of the
  event before; sequence numbers start at 1 and have no gaps;
- a checkpoint's signature is Ed25519 over the canonical JSON of
  {"type": "audit.checkpoint", "seq", "hash", "signed_at", "key_id"};
- a key id is the SHA-256 (hex) of the raw 32-byte public key;
- a receipt's signature is Ed25519 over the canonical JSON of the receipt
  without its "signature" member; its event (audit_seq) is a "receipt.issued"
  event whose data holds the receipt id and the SHA-256 of the payload.

Exit 0 when every event and checkpoint (and the receipt, if given) is
consistent; exit 1 naming the first altered, removed or reordered event and
every bad checkpoint; exit 2 when the export cannot be read at all.
"""

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

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
EVENT_FIELDS = frozenset((*HASHED_FIELDS, "hash"))
CHECKPOINT_FIELDS = frozenset(("seq", "hash", "signed_at", "key_id", "signature"))
RECEIPT_ACTION = "receipt.issued"


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def event_hash(event: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json({name: event[name] for name in HASHED_FIELDS})).hexdigest()


def checkpoint_document(checkpoint: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "audit.checkpoint",
        "seq": checkpoint["seq"],
        "hash": checkpoint["hash"],
        "signed_at": checkpoint["signed_at"],
        "key_id": checkpoint["key_id"],
    }


def key_id_of(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).hexdigest()


def load_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def signature_ok(key: Ed25519PublicKey, document: dict[str, Any], signature: Any) -> bool:
    try:
        key.verify(base64.b64decode(str(signature), validate=True), canonical_json(document))
    except (InvalidSignature, ValueError):
        return False
    return True


class Report:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, message: str) -> None:
        self.problems.append(message)
        print(f"FAIL: {message}")


def keys_load(directory: Path, trusted: list[Path]) -> dict[str, Ed25519PublicKey]:
    """Keys by key id (computed here, never taken from file names). --trusted-key replaces the export's keys."""
    paths = trusted or [directory / "public_key.pem", *sorted((directory / "keys").glob("*.pem"))]
    keys = {}
    for path in paths:
        if path.is_file():
            key = load_key(path)
            keys[key_id_of(key)] = key
    return keys


def checkpoints_check(directory: Path, keys: dict[str, Ed25519PublicKey], report: Report) -> list[dict[str, Any]]:
    """Checkpoints whose signatures verify; every other one is reported."""
    good: list[dict[str, Any]] = []
    path = directory / "checkpoints.jsonl"
    if not path.is_file():
        return good
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            try:
                checkpoint = json.loads(line)
            except json.JSONDecodeError:
                report.fail(f"checkpoints.jsonl line {line_no} is not valid JSON")
                continue
            if not isinstance(checkpoint, dict) or set(checkpoint) != CHECKPOINT_FIELDS:
                report.fail(f"checkpoints.jsonl line {line_no} does not hold exactly {sorted(CHECKPOINT_FIELDS)}")
                continue
            key = keys.get(checkpoint["key_id"])
            label = f"checkpoint #{checkpoint['seq']} (checkpoints.jsonl line {line_no})"
            if key is None:
                report.fail(f"{label} is signed by an unknown key {checkpoint['key_id']}")
            elif not signature_ok(key, checkpoint_document(checkpoint), checkpoint["signature"]):
                report.fail(f"{label} has a bad signature")
            else:
                good.append(checkpoint)
    return good


def events_check(directory: Path, wanted: set[int], report: Report) -> tuple[int, str, dict[int, dict[str, Any]]]:
    """Walk events.jsonl as a stream; report the first event that breaks the chain.

    Returns the last good sequence number and hash, and the good events whose
    sequence numbers are in `wanted` (checkpoints and a receipt point at them).
    """
    seen: dict[int, dict[str, Any]] = {}
    expected, prev_hash = 1, GENESIS_HASH
    with (directory / "events.jsonl").open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                report.fail(f"event #{expected}: line {line_no} is not valid JSON (altered)")
                break
            if not isinstance(event, dict) or set(event) != EVENT_FIELDS:
                report.fail(f"event #{expected} (line {line_no}) was altered: its fields are not the hashed fields")
                break
            seq = event["seq"]
            if seq != expected:
                how = "removed or reordered" if isinstance(seq, int) and seq > expected else "reordered or repeated"
                report.fail(f"event #{expected} is missing at line {line_no} ({how}): found #{seq} instead")
                break
            if event["prev_hash"] != prev_hash:
                report.fail(
                    f"event #{seq} (line {line_no}) does not link to the event before it: "
                    "an event before it was removed, inserted or reordered"
                )
                break
            if event_hash(event) != event["hash"]:
                report.fail(f"event #{seq} (line {line_no}) was altered: its content does not match its hash")
                break
            if seq in wanted:
                seen[seq] = event
            prev_hash = event["hash"]
            expected += 1
    return expected - 1, prev_hash, seen


def checkpoints_match(
    checkpoints: list[dict[str, Any]], last_seq: int, chain_ok: bool, seen: dict[int, dict[str, Any]], report: Report
) -> None:
    """Each signed checkpoint must name an event of the export with the same hash."""
    matching = [0]
    for checkpoint in sorted(checkpoints, key=lambda c: c["seq"]):
        seq = checkpoint["seq"]
        if seq > last_seq:
            if chain_ok:
                report.fail(
                    f"checkpoint #{seq} names an event beyond the last one exported (#{last_seq}): "
                    f"events #{last_seq + 1}..#{seq} were removed"
                )
            continue
        if seen[seq]["hash"] != checkpoint["hash"]:
            report.fail(
                f"checkpoint #{seq} does not match event #{seq}: the trail was rewritten "
                f"between event #{max(matching) + 1} and event #{seq}"
            )
        else:
            matching.append(seq)


def receipt_check(
    receipt: dict[str, Any], keys: dict[str, Ed25519PublicKey], seen: dict[int, dict[str, Any]], report: Report
) -> None:
    document = {name: value for name, value in receipt.items() if name != "signature"}
    key = keys.get(receipt.get("key_id", ""))
    if key is None or not signature_ok(key, document, receipt.get("signature", "")):
        report.fail("the receipt's signature does not verify against the export's keys")
        return
    seq = receipt.get("audit_seq")
    event = seen.get(seq) if isinstance(seq, int) else None
    payload_hash = hashlib.sha256(canonical_json(receipt.get("payload"))).hexdigest()
    if (
        event is None
        or event["action"] != RECEIPT_ACTION
        or event["data"].get("receipt_id") != receipt.get("receipt_id")
        or event["data"].get("payload_hash") != payload_hash
    ):
        report.fail(f"the receipt is not recorded in the trail as event #{seq}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument(
        "--trusted-key", type=Path, action="append", default=[], help="public key PEM to trust instead of the export's"
    )
    parser.add_argument("--receipt", type=Path, help="also check this receipt JSON against the trail")
    args = parser.parse_args(argv)
    directory: Path = args.directory
    if not (directory / "events.jsonl").is_file():
        print(f"ERROR: {directory / 'events.jsonl'} not found", file=sys.stderr)
        return 2
    report = Report()
    try:
        keys = keys_load(directory, args.trusted_key)
        receipt = json.loads(args.receipt.read_text(encoding="utf-8")) if args.receipt else None
    except (OSError, ValueError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    checkpoints = checkpoints_check(directory, keys, report)
    wanted = {c["seq"] for c in checkpoints if isinstance(c["seq"], int)}
    if isinstance(receipt, dict) and isinstance(receipt.get("audit_seq"), int):
        wanted.add(receipt["audit_seq"])
    chain_problems = len(report.problems)
    last_seq, last_hash, seen = events_check(directory, wanted, report)
    chain_ok = len(report.problems) == chain_problems
    checkpoints_match(checkpoints, last_seq, chain_ok, seen, report)
    if receipt is not None:
        if isinstance(receipt, dict):
            receipt_check(receipt, keys, seen, report)
        else:
            report.fail("the receipt is not a JSON object")
    if report.problems:
        print(f"BROKEN: {len(report.problems)} problem(s), listed above.")
        return 1
    latest = max(checkpoints, key=lambda c: c["seq"], default=None)
    signed = f"#{latest['seq']} signed at {latest['signed_at']} by key {latest['key_id']}" if latest else "none"
    print(f"OK: {last_seq} events, head #{last_seq} {last_hash}")
    print(f"OK: {len(checkpoints)} checkpoints verified; latest {signed}")
    if receipt is not None:
        print(f"OK: receipt {receipt.get('receipt_id')} is signed and recorded as event #{receipt.get('audit_seq')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
