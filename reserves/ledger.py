"""The double-entry ledger: accounts and immutable transfers.

A transfer moves `amount_jpy` (> 0) from its debit account to its credit
account: balance = credits - debits, so all balances always sum to zero.
External accounts (the exchange group, each insurer) go negative by what
they put in; every other account is a funding account that a CHECK
constraint keeps at zero or above. Balances change only here, in the same
transaction as the transfer, with the accounts locked in id order.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.bulk import rows_insert
from core.errors import ApplicationError
from core.locks import locked
from reserves.models import Account, Transfer

EXCHANGE = "external:exchange"
RESERVE = "reserve"


class InsufficientFunds(ApplicationError):
    """A funding account would go below zero."""

    def __init__(self, detail: str) -> None:
        super().__init__("insufficient_funds", detail)


@dataclass(frozen=True)
class TransferInput:
    idempotency_key: str
    debit: Account
    credit: Account
    amount_jpy: int
    kind: str
    incident_code: str = ""
    memo: str = ""


def account_ensure(*, code: str, name: str, kind: str) -> Account:
    """The account with this code, created on first use (safe when two transactions race)."""
    account = Account.objects.filter(code=code).first()
    if account is None:
        Account.objects.bulk_create([Account(code=code, name=name, kind=kind)], ignore_conflicts=True)
        account = Account.objects.get(code=code)
    return account


def exchange_account() -> Account:
    return account_ensure(code=EXCHANGE, name="Exchange group funds", kind=Account.Kind.EXTERNAL)


def reserve_account() -> Account:
    return account_ensure(code=RESERVE, name="Liability reserve", kind=Account.Kind.RESERVE)


def accounts_lock(*, ids: list[int]) -> dict[int, Account]:
    """Lock accounts in id order (the one order every writer uses, so no deadlocks). Caller's transaction.

    FOR NO KEY UPDATE: it excludes other balance writers but not the key-share
    locks that inserting transfers (foreign keys to the accounts) takes, so
    writers block each other only for the balance update itself.
    """
    queryset = locked(Account.objects).filter(id__in=sorted(set(ids))).order_by("id")
    return {a.id: a for a in queryset}


def transfers_post(*, transfers: list[TransferInput]) -> None:
    """Record transfers and move the balances, inside the caller's transaction.

    Inserts the transfers in one statement (a repeated idempotency key fails
    the unique constraint and so the whole transaction), then locks every
    account involved in id order and applies one net change per account. A
    funding account that would go below zero raises InsufficientFunds, naming it.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("transfers must be posted inside the transaction of the change they belong to")
    deltas: dict[int, int] = defaultdict(int)
    for item in transfers:
        if isinstance(item.amount_jpy, bool) or not isinstance(item.amount_jpy, int):
            raise TypeError(f"amount_jpy must be int yen, not {type(item.amount_jpy).__name__}")
        if item.amount_jpy <= 0:
            raise ValueError(f"transfer {item.idempotency_key}: amount must be positive")
        deltas[item.debit.id] -= item.amount_jpy
        deltas[item.credit.id] += item.amount_jpy
    if not transfers:
        return
    now = timezone.now()
    rows_insert(
        model=Transfer,
        columns={
            "idempotency_key": [t.idempotency_key for t in transfers],
            "debit_account_id": [t.debit.id for t in transfers],
            "credit_account_id": [t.credit.id for t in transfers],
            "amount_jpy": [t.amount_jpy for t in transfers],
            "kind": [t.kind for t in transfers],
            "incident_code": [t.incident_code for t in transfers],
            "memo": [t.memo for t in transfers],
            "created_at": [now] * len(transfers),
        },
    )
    # Locked only now, after the insert, so the lock is held for as short a time as possible.
    accounts = accounts_lock(ids=list(deltas))
    for account_id in sorted(deltas):
        delta = deltas[account_id]
        if not delta:
            continue
        account = accounts[account_id]
        if account.kind != Account.Kind.EXTERNAL and account.balance_jpy + delta < 0:
            raise InsufficientFunds(
                f"{account.code} holds ¥{account.balance_jpy:,}; ¥{-delta:,} cannot be taken from it."
            )
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE reserves_account SET balance_jpy = balance_jpy + %s WHERE id = %s", [delta, account_id]
                )
        except IntegrityError as exc:  # the CHECK constraint, should Python's check above ever be wrong
            raise InsufficientFunds(f"{account.code} cannot go below zero.") from exc
        account.balance_jpy += delta
