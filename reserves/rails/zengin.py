"""Zengin (全銀協) general bulk-transfer files (総合振込) and the rail that writes them.

The format: fixed-width 120-byte records in Shift_JIS, names in half-width
katakana (the text rules live in core/zengin.py). As the 全銀協 layout says,
numeric (N) fields are right-aligned and zero-filled, and a numeric field we do
not use is all zeros; character (C) fields are left-aligned and space-filled.
One header (1), one data record (2) per transfer, a trailer (8) with the
count and total, and an end record (9). Each record is followed by CR LF.
Field layout in docs/money.md "Zengin format notes"; `zengin_file_parse` reads a
file back (used by the tests and by staff checking a file).
"""

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.zengin import ZenginError, bank_kana, to_zengin_kana
from reserves.models import ZenginFile
from reserves.rails.base import Instruction, RailResult, outbox_write

RECORD_BYTES = 120
NEWLINE = b"\r\n"
MAX_AMOUNT = 9_999_999_999
ACCOUNT_TYPES = {"ordinary": "1", "current": "2", "savings": "4", "other": "9", "1": "1", "2": "2", "4": "4", "9": "9"}


def _text(value: str, width: int) -> str:
    return to_zengin_kana(value)[:width].ljust(width)


def _number(value: int | str, width: int) -> str:
    digits = str(value)
    if not digits.isdigit() or len(digits) > width:
        raise ZenginError(f"{value!r} does not fit in {width} digits")
    return digits.zfill(width)


def _record(fields: list[str]) -> bytes:
    line = "".join(fields).encode("shift_jis")
    if len(line) != RECORD_BYTES:
        raise ZenginError(f"record is {len(line)} bytes, not {RECORD_BYTES}")
    return line


@dataclass(frozen=True)
class Requester:
    """The exchange as the sender of the transfers (settings ZENGIN_*)."""

    code: str
    name: str
    bank_code: str
    branch_code: str
    account_type: str
    account_number: str


@dataclass(frozen=True)
class ZenginTransfer:
    bank_code: str
    branch_code: str
    account_type: str
    account_number: str
    holder_kana: str
    amount_jpy: int
    customer_code: str = ""  # digits: customer code 1 (N 10), our payout id


def zengin_file_build(*, requester: Requester, transfers: list[ZenginTransfer], transfer_date: dt.date) -> bytes:
    """The bytes of a general bulk-transfer file (Shift_JIS, 120-byte records, CR LF after each)."""
    bank_name, branch_name = bank_kana(requester.bank_code, requester.branch_code)
    records = [
        _record(
            [
                "1",  # data type: header
                "21",  # kind: general transfer (総合振込)
                "0",  # code set: JIS
                _number(requester.code, 10),
                _text(requester.name, 40),
                transfer_date.strftime("%m%d"),
                _number(requester.bank_code, 4),
                _text(bank_name, 15),
                _number(requester.branch_code, 3),
                _text(branch_name, 15),
                ACCOUNT_TYPES[requester.account_type],
                _number(requester.account_number, 7),
                " " * 17,
            ]
        )
    ]
    total = 0
    for item in transfers:
        if not 0 < item.amount_jpy <= MAX_AMOUNT:
            raise ZenginError(f"amount {item.amount_jpy} is outside 1..{MAX_AMOUNT}")
        total += item.amount_jpy
        to_bank, to_branch = bank_kana(item.bank_code, item.branch_code)
        records.append(
            _record(
                [
                    "2",  # data type: transfer
                    _number(item.bank_code, 4),
                    _text(to_bank, 15),
                    _number(item.branch_code, 3),
                    _text(to_branch, 15),
                    _number(0, 4),  # clearing house number: unused, so zero
                    ACCOUNT_TYPES[item.account_type],
                    _number(item.account_number, 7),
                    _text(item.holder_kana, 30),
                    _number(item.amount_jpy, 10),
                    "0",  # new-payee code: other
                    _number(item.customer_code or 0, 10),  # customer code 1: our payout id
                    _number(0, 10),  # customer code 2: unused
                    "7",  # transfer kind: telegraphic
                    " ",  # EDI marker: none (customer codes are numeric)
                    " " * 7,
                ]
            )
        )
    records.append(_record(["8", _number(len(transfers), 6), _number(total, 12), " " * 101]))
    records.append(_record(["9", " " * 119]))
    return b"".join(record + NEWLINE for record in records)


def zengin_file_parse(content: bytes) -> dict:
    """Read a file back: {"header": {...}, "transfers": [...], "count", "total"}; checks the trailer."""
    lines = [line for line in content.split(NEWLINE) if line]
    if any(len(line) != RECORD_BYTES for line in lines):
        raise ZenginError("every record must be 120 bytes")
    records = [line.decode("shift_jis") for line in lines]
    kinds = "".join(record[0] for record in records)
    if not (kinds.startswith("1") and kinds.endswith("89") and set(kinds[1:-2]) <= {"2"}):
        raise ZenginError(f"records must be header, data..., trailer, end; found {kinds!r}")
    header = records[0]
    transfers: list[dict[str, Any]] = [
        {
            "bank_code": r[1:5],
            "bank_name": r[5:20].rstrip(),
            "branch_code": r[20:23],
            "branch_name": r[23:38].rstrip(),
            "account_type": r[42],
            "account_number": r[43:50],
            "holder_kana": r[50:80].rstrip(),
            "amount_jpy": int(r[80:90]),
            "customer_code": r[91:101],
        }
        for r in records[1:-2]
    ]
    trailer = records[-2]
    count, total = int(trailer[1:7]), int(trailer[7:19])
    if count != len(transfers) or total != sum(t["amount_jpy"] for t in transfers):
        raise ZenginError("the trailer's count or total does not match the data records")
    return {
        "header": {
            "kind": header[1:3],
            "requester_code": header[4:14],
            "requester_name": header[14:54].rstrip(),
            "date": header[54:58],
            "bank_code": header[58:62],
            "branch_code": header[77:80],
            "account_number": header[96:103],
        },
        "transfers": transfers,
        "count": count,
        "total": total,
    }


def requester_from_settings() -> Requester:
    from django.conf import settings

    return Requester(
        code=settings.ZENGIN_REQUESTER_CODE,
        name=settings.ZENGIN_REQUESTER_NAME,
        bank_code=settings.ZENGIN_BANK_CODE,
        branch_code=settings.ZENGIN_BRANCH_CODE,
        account_type=settings.ZENGIN_ACCOUNT_TYPE,
        account_number=settings.ZENGIN_ACCOUNT_NUMBER,
    )


class ZenginRail:
    """Writes one file per batch into the outbox; its payouts stay `submitted` until staff confirm the file.

    The file name is derived from the batch's idempotency keys, so sending the
    same batch again finds the file already written and writes nothing new.
    """

    name = "zengin"

    def __init__(self, *, outbox: str = "zengin") -> None:
        self.outbox = outbox  # a folder of the file store (core.storage)

    def send(self, *, instructions: list[Instruction]) -> list[RailResult]:
        results: dict[int, RailResult] = {}
        batch: list[tuple[Instruction, ZenginTransfer]] = []
        for ins in instructions:
            if ins.method != "bank":
                results[ins.payout_id] = RailResult(ins.payout_id, "rejected", error="zengin: bank payees only")
                continue
            if ins.amount_jpy > MAX_AMOUNT:
                results[ins.payout_id] = RailResult(ins.payout_id, "rejected", error="zengin: amount too large")
                continue
            payee = ins.payee
            batch.append(
                (
                    ins,
                    ZenginTransfer(
                        bank_code=payee["bank_code"],
                        branch_code=payee["branch_code"],
                        account_type=payee["account_type"],
                        account_number=payee["account_number"],
                        holder_kana=payee["holder_kana"],
                        amount_jpy=ins.amount_jpy,
                        customer_code=str(ins.payout_id)[-10:],
                    ),
                )
            )
        if batch:
            keys = "\n".join(sorted(ins.idempotency_key for ins, _ in batch))
            today = timezone.localdate()
            name = f"zengin-{today:%Y%m%d}-{hashlib.sha256(keys.encode()).hexdigest()[:16]}.txt"
            ordered = sorted(batch, key=lambda pair: pair[0].idempotency_key)
            if not ZenginFile.objects.filter(name=name).exists():
                content = zengin_file_build(
                    requester=requester_from_settings(), transfers=[t for _, t in ordered], transfer_date=today
                )
                outbox_write(self.outbox, name, content)
                try:
                    with transaction.atomic():
                        ZenginFile.objects.create(
                            name=name,
                            sha256=hashlib.sha256(content).hexdigest(),
                            record_count=len(ordered),
                            total_jpy=sum(t.amount_jpy for _, t in ordered),
                        )
                except IntegrityError:
                    pass  # another sender wrote the same batch: same name, same content
            for number, (ins, _) in enumerate(ordered, start=1):
                results[ins.payout_id] = RailResult(ins.payout_id, "submitted", reference=f"{name}#{number:06d}")
        return [results[ins.payout_id] for ins in instructions]
