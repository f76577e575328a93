"""The in-kind rail: a signed withdrawal-instruction batch for the exchange's wallet system (docs/rails.md).

One JSON file per batch in the file store's `wallet/` folder (core.storage):

    {"payload": {"format": "withdrawal-batch/1", "batch": name, "created_at": iso,
                 "items": [{"seq": 1, "payout_id": 42, "idempotency_key": "...", "claim_ref": "...",
                            "transfers": [{"symbol": "BTC", "quantity": "0.5", "address": "bc1..."}]}]},
     "signature": {"alg": "Ed25519", "key_id": hex, "value": base64}}

The signature covers the canonical JSON (RFC 8785 style: sorted keys, no
spaces, UTF-8) of "payload", under the exchange's signing key (the audit
key). Every address is checked per asset (reserves/addresses.py) before it is
written; a payout with a bad address is rejected, not written. Its payouts are
`submitted` until the wallet system's result (wallet-result-json/1) is imported.
Like the Zengin rail, the name comes from the batch's keys: a batch sent again
writes nothing new.
"""

import hashlib
import json
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from audit.log.entries import canonical_json
from audit.signing import signer
from reserves.addresses import AddressError, address_check
from reserves.models import WalletBatch
from reserves.rails.base import Instruction, RailResult, outbox_write


def batch_document(*, name: str, instructions: list[Instruction]) -> tuple[bytes, dict[str, str]]:
    """The signed batch file's bytes and the total quantity per symbol."""
    items: list[dict] = []
    totals: dict[str, str] = {}
    for seq, ins in enumerate(instructions, start=1):
        transfers = [
            {"symbol": line["symbol"], "quantity": line["quantity"], "address": line["address"]}
            for line in ins.in_kind
            if Decimal(line["quantity"]) > 0
        ]
        for line in transfers:
            totals[line["symbol"]] = str(Decimal(totals.get(line["symbol"], "0")) + Decimal(line["quantity"]))
        items.append(
            {
                "seq": seq,
                "payout_id": ins.payout_id,
                "idempotency_key": ins.idempotency_key,
                "claim_ref": ins.claim_ref,
                "transfers": transfers,
            }
        )
    payload = {
        "format": "withdrawal-batch/1",
        "batch": name,
        "created_at": timezone.now().isoformat(),
        "items": items,
    }
    current = signer()
    document = {
        "payload": payload,
        "signature": {"alg": "Ed25519", "key_id": current.key_id, "value": current.sign(payload)},
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8"), totals


def batch_signature_valid(content: bytes, public_key_pem: str) -> bool:
    """What the wallet system does first: check the signature over the canonical payload."""
    from audit.signing import signature_valid

    document = json.loads(content)
    return signature_valid(
        public_key_pem=public_key_pem, document=document["payload"], signature=document["signature"]["value"]
    )


class WalletRail:
    name = "wallet"

    def __init__(self, *, outbox: str = "wallet") -> None:
        self.outbox = outbox  # a folder of the file store (core.storage)

    def send(self, *, instructions: list[Instruction]) -> list[RailResult]:
        results: dict[int, RailResult] = {}
        batch: list[Instruction] = []
        for ins in instructions:
            if ins.method != "crypto" or not ins.in_kind:
                results[ins.payout_id] = RailResult(ins.payout_id, "rejected", error="wallet: in-kind payees only")
                continue
            try:
                for line in ins.in_kind:
                    address_check(symbol=line["symbol"], address=line["address"])
            except AddressError as exc:
                with translation.override("en"):  # the payout's record is in English; customers see theirs
                    error = f"wallet: {exc}"
                results[ins.payout_id] = RailResult(ins.payout_id, "rejected", error=error)
                continue
            batch.append(ins)
        if batch:
            ordered = sorted(batch, key=lambda ins: ins.idempotency_key)
            keys = "\n".join(ins.idempotency_key for ins in ordered)
            name = f"withdrawals-{timezone.localdate():%Y%m%d}-{hashlib.sha256(keys.encode()).hexdigest()[:16]}.json"
            if not WalletBatch.objects.filter(name=name).exists():
                content, totals = batch_document(name=name, instructions=ordered)
                outbox_write(self.outbox, name, content)
                try:
                    with transaction.atomic():
                        WalletBatch.objects.create(
                            name=name,
                            sha256=hashlib.sha256(content).hexdigest(),
                            record_count=len(ordered),
                            totals=totals,
                            key_id=json.loads(content)["signature"]["key_id"],
                        )
                except IntegrityError:
                    pass  # another sender wrote the same batch
            for seq, ins in enumerate(ordered, start=1):
                results[ins.payout_id] = RailResult(ins.payout_id, "submitted", reference=f"{name}#{seq:06d}")
        return [results[ins.payout_id] for ins in instructions]


__all__ = ["WalletRail", "batch_document", "batch_signature_valid", "canonical_json"]
