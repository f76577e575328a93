"""Sending payouts through their rails: lease the due ones, send them outside any transaction, record the results."""

import datetime as dt
import logging
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.locks import locked_skipping
from core.lookups import any_of
from reserves.engine.results import payouts_record
from reserves.models import Payout
from reserves.rails import Instruction, RailResult, rail_get, rail_name_for

logger = logging.getLogger(__name__)


@transaction.atomic(durable=True)
def payouts_lease(
    *, payout_ids: list[int] | None = None, fund_id: int | None = None, limit: int | None = None
) -> list[int]:
    """Lease pending payouts that are due and not being sent by anyone else; returns their ids."""
    now = timezone.now()
    queryset = Payout.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now),
        status=Payout.Status.PENDING,
        next_attempt_at__lte=now,
        fund__on_hold=False,
    )
    if payout_ids is not None:
        queryset = queryset.filter(any_of("pk", payout_ids))
    if fund_id is not None:
        queryset = queryset.filter(fund_id=fund_id)
    ids = list(
        locked_skipping(queryset).order_by("id").values_list("id", flat=True)[: limit or settings.PAYOUT_CHUNK_SIZE]
    )
    if ids:
        lease = now + dt.timedelta(seconds=settings.PAYOUT_LEASE_SECONDS)
        Payout.objects.filter(any_of("pk", ids)).update(locked_until=lease)
    return ids


def payouts_dispatch(*, payout_ids: list[int], leased: bool = False) -> dict[str, int]:
    """Send payouts through their rails and record the results. Not atomic: rails are called between transactions.

    `leased=True` when the caller already holds the lease (fresh from
    payouts_allocate_chunk); otherwise the due ones among `payout_ids` are leased here.
    """
    if not leased:
        payout_ids = payouts_lease(payout_ids=payout_ids)
    if not payout_ids:
        return {}
    return instructions_send(instructions=_instructions_load(payout_ids))


def _instructions_load(payout_ids: list[int]) -> list[Instruction]:
    rows = (
        Payout.objects.filter(any_of("pk", payout_ids), status=Payout.Status.PENDING)
        .order_by("id")
        .values_list(
            "id",
            "amount_jpy",
            "idempotency_key",
            "rail",
            "in_kind",
            "attempts",
            "claim_ref",
            "entitlement__payee",
            "entitlement__payee_method",
            "entitlement__customer_name",
        )
    )
    return [
        Instruction(
            payout_id=pk,
            idempotency_key=key,
            amount_jpy=amount,
            method=method,
            payee=payee,
            customer_name=name,
            claim_ref=claim_ref,
            attempt=attempts + 1,
            in_kind=in_kind,
            rail=rail,
        )
        for pk, amount, key, rail, in_kind, attempts, claim_ref, payee, method, name in rows
    ]


def instructions_send(*, instructions: list[Instruction]) -> dict[str, int]:
    """Send leased payouts through their rails (outside any transaction), then record the results."""
    if not instructions:
        return {}
    by_rail: dict[str, list[Instruction]] = defaultdict(list)
    for ins in instructions:
        by_rail[ins.rail or rail_name_for(ins.method)].append(ins)
    results: list[RailResult] = []
    for rail_name, instructions in by_rail.items():
        try:
            results.extend(rail_get(rail_name).send(instructions=instructions))
        except Exception as exc:  # a rail that breaks must not lose the batch: every payout is retried
            logger.exception("payment rail %s failed for %d payouts", rail_name, len(instructions))
            results.extend(RailResult(i.payout_id, "retry", error=f"{rail_name}: {exc}"[:500]) for i in instructions)
    return payouts_record(results=results)
