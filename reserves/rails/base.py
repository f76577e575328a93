"""What every rail shares: the instruction it is given, the result it answers, and the atomic outbox write."""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Instruction:
    payout_id: int
    idempotency_key: str
    amount_jpy: int
    method: str
    payee: dict
    customer_name: str
    claim_ref: str
    attempt: int
    in_kind: list = field(default_factory=list)
    rail: str = ""


@dataclass(frozen=True)
class RailResult:
    """outcome: "paid", "submitted" (awaiting the bank), "retry" (transient), "rejected" (permanent) or
    "returned" (the payee cannot receive it: the customer is asked for other details; `code` says why)."""

    payout_id: int
    outcome: str
    reference: str = ""
    error: str = ""
    code: str = ""


class Rail(Protocol):
    name: str

    def send(self, *, instructions: list[Instruction]) -> list[RailResult]: ...


def outbox_write(outbox: Path, name: str, content: bytes) -> None:
    """Write a file for another system atomically (a temporary file renamed), so nobody reads half of it."""
    outbox.mkdir(parents=True, exist_ok=True)
    temporary = outbox / f".{name}.{os.getpid()}.tmp"
    temporary.write_bytes(content)
    temporary.replace(outbox / name)
