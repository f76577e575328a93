"""Unclaimed money: payouts nobody could receive by the deadline, held for deposit with the Legal Affairs Bureau (供託).

A payout `returned` (or `failed`, undeliverable) for UNCLAIMED_AFTER_DAYS
becomes `unclaimed`: its money moves from the incident's allocated account to
its unclaimed account (`unclaimed:<incident>`, transfer `unclaimed:<payout
id>`), so the books show what is held apart for deposit. It stays payable: if
the customer comes back, reserves.returns.payout_resend moves it back
(`reclaim:<payout id>`) and sends it once.
"""

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import Actor, EventInput, events_record
from reserves import ledger
from reserves.bulk import rows_update
from reserves.models import IncidentFund, Payout
from reserves.returns import unclaimed_account

CHUNK = 500
ACTOR = Actor.system("reserves.unclaimed_sweep")


def _due(now: dt.datetime) -> Q:
    cutoff = now - dt.timedelta(days=settings.UNCLAIMED_AFTER_DAYS)
    return Q(status=Payout.Status.RETURNED, returned_at__lte=cutoff) | Q(
        status=Payout.Status.FAILED, updated_at__lte=cutoff
    )


def unclaimed_sweep(*, now: dt.datetime | None = None, actor: Any = None) -> int:
    """Move every payout past the deadline to `unclaimed` (chunks of CHUNK, one transaction each). Returns how many."""
    now = now or timezone.now()
    moved = 0
    while True:
        with transaction.atomic(durable=True):
            payouts = list(
                Payout.objects.select_for_update(of=("self",), no_key=True, skip_locked=True)
                .filter(_due(now))
                .order_by("id")[:CHUNK]
            )
            if not payouts:
                return moved
            funds = {
                f.pk: f
                for f in IncidentFund.objects.filter(pk__in={p.fund_id for p in payouts}).select_related(
                    "allocated_account"
                )
            }
            ledger.transfers_post(
                transfers=[
                    ledger.TransferInput(
                        f"unclaimed:{p.pk}",
                        funds[p.fund_id].allocated_account,
                        unclaimed_account(funds[p.fund_id]),
                        p.amount_jpy,
                        "unclaimed",
                        funds[p.fund_id].incident_code,
                        f"{p.claim_ref} unclaimed after {settings.UNCLAIMED_AFTER_DAYS:g} days",
                    )
                    for p in payouts
                ]
            )
            rows_update(
                model=Payout,
                columns={
                    "id": [p.pk for p in payouts],
                    "status": ["unclaimed"] * len(payouts),
                    "updated_at": [now] * len(payouts),
                },
            )
            events_record(
                actor=actor or ACTOR,
                events=[
                    EventInput(
                        "payout.unclaimed",
                        "reserves.payout",
                        str(p.pk),
                        {
                            "claim_ref": p.claim_ref,
                            "amount_jpy": p.amount_jpy,
                            "before": {"status": p.status},
                            "after": {"status": "unclaimed"},
                            "transfer": f"unclaimed:{p.pk}",
                        },
                    )
                    for p in payouts
                ],
            )
            moved += len(payouts)
