"""The sandbox rail: a pretend bank in our own database, deterministic, with configurable failures.

Whether an attempt fails is a pure function of (seed, idempotency key,
attempt number), so a run can be repeated exactly. Half of the failures
happen before the bank executes ("declined"); the other half after it
executed but before we heard back ("reply lost"), which is the case
idempotency keys exist for: the next attempt finds the executed transfer
and answers "paid" with the same reference, and the bank's unique key means
it never executes twice. A bank account number of 9999999 is always
rejected (a closed account), for trying out permanent failures.
"""

import hashlib
import time

from django.db import connection, transaction
from django.utils import timezone

from core.bulk import rows_insert
from reserves.models import SandboxTransfer
from reserves.rails.base import Instruction, RailResult

CLOSED_ACCOUNT = "9999999"


def _uniform(seed: str, key: str, attempt: int) -> float:
    digest = hashlib.sha256(f"{seed}|{key}|{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _payee_ref(ins: Instruction) -> str:
    payee = ins.payee
    if ins.method == "bank":
        return f"{payee['bank_code']}-{payee['branch_code']}-{payee['account_type']}-{payee['account_number']}"
    return ",".join(f"{symbol}:{address}" for symbol, address in sorted(payee.get("addresses", {}).items()))[:300]


class SandboxRail:
    name = "sandbox"

    def __init__(self, *, failure_rate: float = 0.0, latency_ms: int = 0, seed: str = "sandbox") -> None:
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        self.failure_rate = failure_rate
        self.latency_ms = latency_ms
        self.seed = seed

    def send(self, *, instructions: list[Instruction]) -> list[RailResult]:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        results: dict[int, RailResult] = {}
        executed: list[Instruction] = []
        reply_lost: set[str] = set()
        for ins in instructions:
            roll = _uniform(self.seed, ins.idempotency_key, ins.attempt)
            if ins.method == "bank" and ins.payee.get("account_number") == CLOSED_ACCOUNT:
                results[ins.payout_id] = RailResult(ins.payout_id, "rejected", error="sandbox: account closed")
            elif roll < self.failure_rate / 2:
                results[ins.payout_id] = RailResult(ins.payout_id, "retry", error="sandbox: declined, try again")
            else:
                executed.append(ins)
                if roll < self.failure_rate:
                    reply_lost.add(ins.idempotency_key)
        if executed:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    # This is the pretend bank's own commit, not ours: it need not wait for the disk.
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL synchronous_commit = off")
                inserted = rows_insert(
                    model=SandboxTransfer,
                    columns={
                        "idempotency_key": [ins.idempotency_key for ins in executed],
                        "amount_jpy": [ins.amount_jpy for ins in executed],
                        "method": [ins.method for ins in executed],
                        "payee_ref": [_payee_ref(ins) for ins in executed],
                        "in_kind": [ins.in_kind for ins in executed],
                        "executed_at": [timezone.now()] * len(executed),
                    },
                    ignore_conflicts=True,
                    returning=["idempotency_key", "id", "amount_jpy"],
                )
            done = {key: (pk, amount) for key, pk, amount in inserted or []}
            repeated = [ins.idempotency_key for ins in executed if ins.idempotency_key not in done]
            if repeated:  # executed before: the bank answers with the first execution
                done.update(
                    (key, (pk, amount))
                    for key, pk, amount in SandboxTransfer.objects.filter(idempotency_key__in=repeated).values_list(
                        "idempotency_key", "id", "amount_jpy"
                    )
                )
            for ins in executed:
                pk, amount = done[ins.idempotency_key]
                if amount != ins.amount_jpy:
                    results[ins.payout_id] = RailResult(
                        ins.payout_id, "rejected", error="sandbox: idempotency key reused with another amount"
                    )
                elif ins.idempotency_key in reply_lost:
                    results[ins.payout_id] = RailResult(ins.payout_id, "retry", error="sandbox: timeout, reply lost")
                else:
                    results[ins.payout_id] = RailResult(ins.payout_id, "paid", reference=f"SBX-{pk:010d}")
        return [results[ins.payout_id] for ins in instructions]
