"""What every rail shares: the instruction it is given, the result it answers, and the atomic outbox write."""

from dataclasses import dataclass, field
from typing import Protocol

from core.storage import read_bytes, store_bytes


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


def outbox_write(outbox: str, name: str, content: bytes) -> None:
    """Write a file for another system into the file store's `outbox` folder (core.storage: whole or not at all)."""
    store_bytes(f"{outbox}/{name}", content)


def outbox_read(outbox: str, name: str) -> bytes | None:
    """A file written by outbox_write, or None when it is not in the store."""
    return read_bytes(f"{outbox}/{name}")
