"""Payment rails: one adapter interface, chosen per payee method (docs/money.md "Payment rails", docs/rails.md).

A rail takes a batch of instructions and answers one result per
instruction. It must be idempotent on `idempotency_key`: sending the same key
again never pays twice (the sandbox bank keeps a record; a Zengin file is
named after its keys). Rails are called outside any database transaction.
"""

from django.conf import settings

from reserves.rails.base import Instruction, Rail, RailResult, outbox_read, outbox_write
from reserves.rails.exchange_account import rail_from_settings as exchange_rail_from_settings
from reserves.rails.sandbox import SandboxRail
from reserves.rails.wallet import WalletRail
from reserves.rails.zengin import ZenginRail

__all__ = ["Instruction", "Rail", "RailResult", "outbox_read", "outbox_write", "rail_get", "rail_name_for"]


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
    if name == "sandbox":
        return SandboxRail(
            failure_rate=settings.SANDBOX_RAIL_FAILURE_RATE,
            latency_ms=settings.SANDBOX_RAIL_LATENCY_MS,
            seed=settings.SANDBOX_RAIL_SEED,
        )
    if name == "zengin":
        return ZenginRail(outbox=settings.ZENGIN_OUTBOX)
    if name == "exchange":
        return exchange_rail_from_settings()
    if name == "wallet":
        return WalletRail(outbox=settings.WALLET_OUTBOX)
    raise ValueError(f"unknown payment rail {name!r}")
