"""Payment rails: one adapter interface, chosen per payee method (README "Payment rails").

A rail takes a batch of instructions and answers one result per
instruction. It must be idempotent on `idempotency_key`: sending the same key
again never pays twice (the sandbox bank keeps a record; a Zengin file is
named after its keys). Rails are called outside any database transaction.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from django.conf import settings


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


def rail_name_for(method: str) -> str:
    """Bank payees: PAYOUT_BANK_RAIL; in kind: PAYOUT_CRYPTO_RAIL; exchange accounts: the core system's rail.

    Without EXCHANGE_CORE_URL the exchange-account payees go to the sandbox (demo and tests without the server).
    """
    if method == "bank":
        return settings.PAYOUT_BANK_RAIL
    if method == "exchange":
        return "exchange" if settings.EXCHANGE_CORE_URL else "sandbox"
    return settings.PAYOUT_CRYPTO_RAIL


def rail_get(name: str) -> Rail:
    from reserves.rails.sandbox import SandboxRail
    from reserves.rails.zengin import ZenginRail

    if name == "sandbox":
        return SandboxRail(
            failure_rate=settings.SANDBOX_RAIL_FAILURE_RATE,
            latency_ms=settings.SANDBOX_RAIL_LATENCY_MS,
            seed=settings.SANDBOX_RAIL_SEED,
        )
    if name == "zengin":
        return ZenginRail(outbox=settings.ZENGIN_OUTBOX_DIR)
    if name == "exchange":
        from reserves.rails.exchange_account import rail_from_settings

        return rail_from_settings()
    if name == "wallet":
        from reserves.rails.wallet import WalletRail

        return WalletRail(outbox=settings.WALLET_OUTBOX_DIR)
    raise ValueError(f"unknown payment rail {name!r}")
