"""What a bank or a wallet system sends back, written from docs/rails.md (not from our parser)."""

import hashlib
import json


def bank_result_csv(*, file_name: str, sent: bytes, rows: list[tuple], sha256: str | None = None) -> bytes:
    """rows: (record_no, payout_id, amount_jpy, "paid" | "returned", reason_code, bank_reference)."""
    sha = sha256 or hashlib.sha256(sent).hexdigest()
    lines = ["file_name,file_sha256,record_no,customer_code,amount_jpy,result,reason_code,bank_reference"]
    for record_no, payout_id, amount, result, reason, reference in rows:
        lines.append(f"{file_name},{sha},{record_no},{payout_id:010d},{amount},{result},{reason},{reference}")
    return ("\r\n".join(lines) + "\r\n").encode()


def wallet_result_json(*, batch: bytes, results: list[dict]) -> bytes:
    document = json.loads(batch)
    return json.dumps(
        {
            "format": "wallet-result-json/1",
            "batch": document["payload"]["batch"],
            "batch_sha256": hashlib.sha256(batch).hexdigest(),
            "results": results,
        }
    ).encode()
