"""Chunks of a round: the next entitlements behind the current round, each brought up to its target, one payout each.

One transaction per chunk. The fund row is held FOR SHARE (a new round waits
for running chunks); entitlements are taken with SELECT ... FOR UPDATE SKIP
LOCKED so workers share the round; the payouts are leased to the caller, which
sends them (engine/dispatch.py) right after the chunk commits.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import EventInput, events_record
from core.bulk import ids_reserve, rows_insert, rows_update
from core.errors import NotFound
from core.locks import locked_skipping
from core.lookups import any_of
from reserves import ledger
from reserves.engine.pool import draw_segments, pool_split
from reserves.models import Account, Allocation, Entitlement, IncidentFund, Payout
from reserves.rails import Instruction, rail_name_for
from reserves.waterfall import claimant_target

IN_KIND_PLACES = Decimal("0.00000001")


def in_kind_lines(*, method: str, payee: dict, lines: list, eligible_jpy: int, amount: int) -> list[dict]:
    """For crypto payees: each line's quantity in proportion to the payout, truncated to 8 places."""
    if method != Entitlement.Method.CRYPTO or not eligible_jpy:
        return []
    share = Decimal(amount) / Decimal(eligible_jpy)
    addresses = payee.get("addresses", {})
    return [
        {
            "symbol": line["symbol"],
            "quantity": str((Decimal(line["quantity"]) * share).quantize(IN_KIND_PLACES, rounding=ROUND_DOWN)),
            "address": addresses.get(line["symbol"], ""),
        }
        for line in lines
    ]


def _fund_share_lock(fund_id: int) -> tuple | None:
    """The fund's round, hold flag and accounts, with the row locked FOR SHARE (a new round waits for us)."""
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT round, on_hold, incident_code, pool_account_id, allocated_account_id "
            f"FROM reserves_incidentfund WHERE id = %s{lock}",
            [fund_id],
        )
        return cursor.fetchone()


@dataclass
class Chunk:
    """What one allocated chunk hands to its sender: the new payouts are leased to it."""

    processed: int = 0
    payout_ids: list[int] = field(default_factory=list)
    last_id: int = 0
    instructions: list[Instruction] = field(default_factory=list)


class Due(NamedTuple):
    """An entitlement the round raised: `amount_jpy` more is to be paid to it now."""

    entitlement_id: int
    claim_ref: str
    amount_jpy: int
    eligible_jpy: int
    method: str
    payee: dict
    customer_name: str


@transaction.atomic(durable=True)
def payouts_allocate_chunk(
    *,
    fund_id: int,
    limit: int,
    after_id: int = 0,
    entitlement_ids: list[int] | None = None,
    admitted_round: int | None = None,
) -> Chunk:
    """Allocate one chunk of the current round: the next `limit` entitlements after `after_id` that nobody holds.

    Only entitlements not yet at the current curve are taken (their round is
    before the round's basis); `admitted_round` narrows that to what one round
    admitted (an index finds them without walking the fund). Returns how many
    entitlements were processed, the new payouts (leased to the caller, with
    their rail instructions ready) and the last entitlement id taken: where
    the next chunk starts.
    """
    row = _fund_share_lock(fund_id)
    if row is None:
        raise NotFound("not_found", _("No such incident fund."))
    seq, on_hold, incident_code, pool_id, allocated_id = row
    if on_hold or seq == 0:
        return Chunk(last_id=after_id)
    allocation = Allocation.objects.get(fund_id=fund_id, seq=seq)
    basis_seq = allocation.basis_seq or seq
    queryset = Entitlement.objects.filter(
        fund_id=fund_id, admitted_round__isnull=False, round__lt=basis_seq, pk__gt=after_id
    )
    if entitlement_ids is not None:
        queryset = queryset.filter(any_of("pk", entitlement_ids))
    if admitted_round is not None:
        queryset = queryset.filter(admitted_round=admitted_round)
    rows = list(
        locked_skipping(queryset)
        .order_by("id")
        .values_list(
            "id", "claim_ref", "eligible_jpy", "base_jpy", "allocated_jpy", "payee_method", "payee", "customer_name"
        )[:limit]
    )
    if not rows:
        return Chunk(last_id=after_id)
    work = _targets_raise(rows=rows, allocation=allocation)
    last_id = rows[-1][0]
    if not work:
        return Chunk(processed=len(rows), last_id=last_id)
    columns = _payout_columns(work=work, allocation=allocation)
    # Only now lock the pool: where this chunk's money sits in it decides which sources each payout draws on.
    accounts = ledger.accounts_lock(ids=[pool_id, allocated_id])
    segments = draw_segments(fund=IncidentFund(pk=fund_id, pool_account_id=pool_id))
    position = sum(amount for _, amount in segments) - accounts[pool_id].balance_jpy
    for delta in columns["amount_jpy"]:
        columns["breakdown"].append(pool_split(position, delta, segments))
        position += delta
    _payouts_insert(columns)
    _chunk_book(
        fund_id=fund_id,
        incident_code=incident_code,
        seq=seq,
        pool=accounts[pool_id],
        allocated=accounts[allocated_id],
        columns=columns,
    )
    return Chunk(
        processed=len(rows), payout_ids=columns["id"], last_id=last_id, instructions=_instructions(work, columns)
    )


def _targets_raise(*, rows: list[tuple], allocation: Allocation) -> list[Due]:
    """Bring each entitlement up to the round's target (never down); the ones raised are due a payout."""
    updates: list[tuple[int, int]] = []
    work = []
    for pk, claim_ref, eligible, base, allocated, method, payee, name in rows:
        target = claimant_target(
            eligible_jpy=eligible,
            base_jpy=base,
            level_jpy=allocation.level_jpy,
            base_total_jpy=allocation.base_total_jpy,
            loss_basis_jpy=allocation.loss_basis_jpy,
        )
        target = max(allocated, target)
        updates.append((pk, target))
        if target > allocated:
            work.append(Due(pk, claim_ref, target - allocated, eligible, method, payee, name))
    rows_update(
        model=Entitlement,
        columns={
            "id": [u[0] for u in updates],
            "allocated_jpy": [u[1] for u in updates],
            "round": [allocation.seq] * len(updates),
        },
    )
    return work


def _payout_columns(*, work: list[Due], allocation: Allocation) -> dict[str, list]:
    """The new payouts as columns (ids reserved on PostgreSQL), leased to this worker; breakdowns still empty."""
    now = timezone.now()
    lease = now + dt.timedelta(seconds=settings.PAYOUT_LEASE_SECONDS)
    count = len(work)
    ids = ids_reserve(model=Payout, count=count)
    crypto = dict(
        Entitlement.objects.filter(
            pk__in=[due.entitlement_id for due in work if due.method == Entitlement.Method.CRYPTO]
        ).values_list("id", "lines")
    )
    return {
        "id": ids or [None] * count,
        "fund_id": [allocation.fund_id] * count,
        "entitlement_id": [due.entitlement_id for due in work],
        "allocation_id": [allocation.pk] * count,
        "claim_ref": [due.claim_ref for due in work],
        "amount_jpy": [due.amount_jpy for due in work],
        "eligible_jpy": [due.eligible_jpy for due in work],
        "breakdown": [],
        "method": [due.method for due in work],
        "rail": [rail_name_for(due.method) for due in work],
        "in_kind": [
            in_kind_lines(
                method=due.method,
                payee=due.payee,
                lines=crypto.get(due.entitlement_id, []),
                eligible_jpy=due.eligible_jpy,
                amount=due.amount_jpy,
            )
            if due.method == "crypto"
            else []
            for due in work
        ],
        "idempotency_key": [f"{due.claim_ref}:r{allocation.seq}" for due in work],
        "status": ["pending"] * count,
        "attempts": [0] * count,
        "next_attempt_at": [now] * count,
        "locked_until": [lease] * count,
        "last_error": [""] * count,
        "rail_reference": [""] * count,
        "created_at": [now] * count,
        "updated_at": [now] * count,
    }


def _payouts_insert(columns: dict[str, list]) -> None:
    """Insert the payouts; without reserved ids (not PostgreSQL) the database numbers them, into columns["id"]."""
    if columns["id"] and columns["id"][0] is not None:
        rows_insert(model=Payout, columns=columns)
        return
    count = len(columns["id"])
    created = Payout.objects.bulk_create(
        [Payout(**{k: v[i] for k, v in columns.items() if k != "id"}) for i in range(count)]
    )
    columns["id"] = [p.pk for p in created]


def _chunk_book(
    *,
    fund_id: int,
    incident_code: str,
    seq: int,
    pool: Account,
    allocated: Account,
    columns: dict[str, list],
) -> None:
    """One ledger transfer (pool → allocated) and one audit event for the whole chunk, listing every payout."""
    listed = ("id", "claim_ref", "amount_jpy", "breakdown")
    payouts = [list(row) for row in zip(*(columns[name] for name in listed), strict=True)]
    total = sum(columns["amount_jpy"])
    ledger.transfers_post(
        transfers=[
            ledger.TransferInput(
                f"allocate:{fund_id}:r{seq}:{payouts[0][0]}",
                pool,
                allocated,
                total,
                "allocation",
                incident_code,
                f"round {seq}: {len(payouts)} payouts",
            )
        ]
    )
    # Bulk work is logged one event per chunk, listing every payout (one chain lock per chunk).
    events_record(
        actor=None,
        events=[
            EventInput(
                "payouts.allocated",
                "reserves.incidentfund",
                str(fund_id),
                {
                    "incident_code": incident_code,
                    "round": seq,
                    "count": len(payouts),
                    "total_jpy": total,
                    # [payout id, claim_ref, amount, sources]; idempotency key = "<claim_ref>:r<round>"
                    "payouts": payouts,
                },
            )
        ],
    )


def _instructions(work: list[Due], columns: dict[str, list]) -> list[Instruction]:
    """The rail instructions of the new payouts, first attempts."""
    return [
        Instruction(
            payout_id=columns["id"][n],
            idempotency_key=columns["idempotency_key"][n],
            amount_jpy=due.amount_jpy,
            method=due.method,
            payee=due.payee,
            customer_name=due.customer_name,
            claim_ref=due.claim_ref,
            attempt=1,
            in_kind=columns["in_kind"][n],
        )
        for n, due in enumerate(work)
    ]
