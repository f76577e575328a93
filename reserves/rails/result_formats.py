"""Result files: what a bank or the wallet system says happened to each transfer we sent (docs/rails.md).

Each format is an adapter: `parse(content) -> ParsedResult`, one row per
transfer with the transfer's reference, its outcome (`paid` or `returned`) and
the sender's reason code. Another bank's format is another adapter registered
in FORMATS; the import (reserves/result_imports.py) does not change.
"""

import csv
import io
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Protocol

from django.utils.translation import gettext_lazy as _

PAID, RETURNED = "paid", "returned"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_ROWS = 200_000


class ResultFormatError(ValueError):
    """The content is not a result file of this format (nothing is imported)."""


@dataclass(frozen=True)
class ResultRow:
    line: int  # where it is in the result file, for the report
    record_no: int  # the transfer's position in the file we sent (1-based)
    payout_id: int  # our reference: the payout id we wrote into the sent file
    outcome: str  # PAID or RETURNED
    reason_code: str = ""
    amount_jpy: int | None = None  # bank results: the amount, checked against what was sent
    quantities: tuple[tuple[str, str], ...] = ()  # wallet results: (symbol, quantity) sent, checked likewise
    reference: str = ""  # the sender's own reference (bank transaction number, on-chain txid)


@dataclass(frozen=True)
class ParsedResult:
    sent_name: str
    sent_sha256: str
    rows: list[ResultRow]


class ResultFormat(Protocol):
    name: str
    rail: str

    def parse(self, content: bytes) -> ParsedResult: ...


def _int(value: str, what: str, line: int) -> int:
    if not re.fullmatch(r"[0-9]{1,12}", value or ""):
        raise ResultFormatError(f"line {line}: {what} must be digits, not {value!r}")
    return int(value)


class BankResultCsv:
    """`bank-result-csv/1`: UTF-8 CSV, one line per transfer of one sent Zengin file.

    Columns: file_name, file_sha256, record_no, customer_code, amount_jpy,
    result (`paid` or `returned`), reason_code (two digits when returned), bank_reference.
    """

    name = "bank-result-csv/1"
    rail = "zengin"
    columns = [
        "file_name",
        "file_sha256",
        "record_no",
        "customer_code",
        "amount_jpy",
        "result",
        "reason_code",
        "bank_reference",
    ]

    def parse(self, content: bytes) -> ParsedResult:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ResultFormatError("a bank result is UTF-8 text") from exc
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header != self.columns:
            raise ResultFormatError(f"the first line must be the header {','.join(self.columns)}")
        names, hashes, rows = set(), set(), []
        for line, cells in enumerate(reader, start=2):
            if not cells:
                continue
            if len(cells) != len(self.columns):
                raise ResultFormatError(f"line {line}: {len(cells)} columns, not {len(self.columns)}")
            name, sha, record_no, customer_code, amount, result, reason, reference = (c.strip() for c in cells)
            if result not in (PAID, RETURNED):
                raise ResultFormatError(f"line {line}: result must be paid or returned, not {result!r}")
            if result == RETURNED and not re.fullmatch(r"[0-9]{2}", reason):
                raise ResultFormatError(f"line {line}: a returned transfer needs a two-digit reason code")
            if not _SHA256.match(sha):
                raise ResultFormatError(f"line {line}: file_sha256 must be 64 lower-case hex digits")
            names.add(name)
            hashes.add(sha)
            rows.append(
                ResultRow(
                    line=line,
                    record_no=_int(record_no, "record_no", line),
                    payout_id=_int(customer_code, "customer_code", line),
                    outcome=result,
                    reason_code=reason if result == RETURNED else "",
                    amount_jpy=_int(amount, "amount_jpy", line),
                    reference=reference[:100],
                )
            )
            if len(rows) > MAX_ROWS:
                raise ResultFormatError(f"more than {MAX_ROWS} lines")
        if not rows:
            raise ResultFormatError("no result lines")
        if len(names) != 1 or len(hashes) != 1:
            raise ResultFormatError("one result file answers one sent file: file_name and file_sha256 must not vary")
        return ParsedResult(sent_name=names.pop(), sent_sha256=hashes.pop(), rows=rows)


class WalletResultJson:
    """`wallet-result-json/1`: the wallet system's answer to one signed withdrawal batch.

    {"format": "wallet-result-json/1", "batch": name, "batch_sha256": hex,
     "results": [{"seq": n, "payout_id": id, "status": "sent" | "rejected", "reason_code": "...",
                  "transfers": [{"symbol": "BTC", "quantity": "0.5", "txid": "..."}]}]}
    """

    name = "wallet-result-json/1"
    rail = "wallet"

    def parse(self, content: bytes) -> ParsedResult:
        try:
            data = json.loads(content.decode("utf-8"), parse_float=Decimal)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ResultFormatError("a wallet result is a UTF-8 JSON document") from exc
        if not isinstance(data, dict) or data.get("format") != self.name:
            raise ResultFormatError(f'"format" must be "{self.name}"')
        batch, sha, items = data.get("batch"), data.get("batch_sha256"), data.get("results")
        if not isinstance(batch, str) or not isinstance(sha, str) or not _SHA256.match(sha):
            raise ResultFormatError("batch and batch_sha256 (64 lower-case hex digits) are required")
        if not isinstance(items, list) or not items or len(items) > MAX_ROWS:
            raise ResultFormatError("results must be a non-empty list")
        rows = []
        for n, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                raise ResultFormatError(f"result {n}: an object is expected")
            status, transfers = item.get("status"), item.get("transfers")
            if status not in ("sent", "rejected"):
                raise ResultFormatError(f"result {n}: status must be sent or rejected")
            seq, payout_id = item.get("seq"), item.get("payout_id")
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (seq, payout_id)):
                raise ResultFormatError(f"result {n}: seq and payout_id must be integers")
            if not isinstance(transfers, list) or not all(isinstance(t, dict) for t in transfers):
                raise ResultFormatError(f"result {n}: transfers must be a list of objects")
            quantities, txids = [], []
            for t in transfers:
                try:
                    quantity = Decimal(str(t.get("quantity")))
                except InvalidOperation as exc:
                    raise ResultFormatError(f"result {n}: quantity must be a decimal string") from exc
                quantities.append((str(t.get("symbol")), f"{quantity.normalize():f}"))
                txids.append(str(t.get("txid") or ""))
            if status == "sent" and not all(txids):
                raise ResultFormatError(f"result {n}: every sent transfer has its txid")
            rows.append(
                ResultRow(
                    line=n,
                    record_no=seq,
                    payout_id=payout_id,
                    outcome=PAID if status == "sent" else RETURNED,
                    reason_code=str(item.get("reason_code") or "99")[:16] if status == "rejected" else "",
                    quantities=tuple(sorted(quantities)),
                    reference=",".join(txids)[:100],
                )
            )
        return ParsedResult(sent_name=batch, sent_sha256=sha, rows=rows)


FORMATS: dict[str, ResultFormat] = {f.name: f for f in (BankResultCsv(), WalletResultJson())}

# The bank's reason codes for a returned transfer (bank-result-csv/1), as customers are told them.
BANK_RETURN_REASONS = {
    "01": _("No such account at that bank and branch"),
    "02": _("The account is closed"),
    "03": _("The account holder's name differs"),
    "04": _("The account type or number differs"),
    "05": _("The payee refused the transfer"),
    "99": _("The bank could not credit the account"),
}
# The wallet system's reason codes for a rejected withdrawal (wallet-result-json/1).
WALLET_RETURN_REASONS = {
    "bad_address": _("The address is not valid for this asset"),
    "blocked_address": _("The address may not receive withdrawals"),
    "99": _("The wallet system could not send to the address"),
    # The exchange core system's refusals of a credit (exchange-account rail).
    "account_closed": _("Your account at the exchange is closed"),
    "account_frozen": _("Your account at the exchange cannot receive credits"),
    "no_such_account": _("No such account at the exchange"),
}
