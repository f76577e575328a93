"""Returned payouts and their resend: the money goes back to the incident's fund, the claimant is paid once.

A payout that comes back (a bank or wallet result `returned`, or a return
after it was paid) becomes `returned`:

- if it had been paid, a compensating transfer `return:<payout id>` moves its
  amount from the incident's paid account back to its allocated account (the
  paid transfer is never edited); a submitted payout's money never left the
  allocated account, so nothing moves;
- `payout_returned` tells claims, which asks the customer for corrected details.

`payout_resend` (after a reviewer accepted corrected details) creates exactly
one new payout for the returned one (`resend_of`, unique in the database) with
the idempotency key `<original key>:s<n>`, and marks the returned one `resent`.
The resend is an ordinary payout: when it is paid the usual transfer
allocated -> paid is posted. An unclaimed payout (services/unclaimed.py) may be
resent too; its money first comes back from the unclaimed account.

Lock order: payouts (by id), entitlements, ledger accounts, audit tree head.
"""

import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import Actor, EventInput, event_record, events_record
from core.bulk import rows_update
from core.dispatch import enqueue_after_commit
from core.errors import Conflict, NotFound
from core.locks import locked
from core.types import User
from reserves import ledger, signals
from reserves.engine.chunks import in_kind_lines
from reserves.models import Account, Entitlement, IncidentFund, Payout
from reserves.rails import rail_name_for
from reserves.services.entitlements import entitlement_payee_apply

_RESEND_SUFFIX = re.compile(r":s(\d+)$")


@dataclass(frozen=True)
class Return:
    payout: Payout
    reason_code: str
    reason: str


def unclaimed_account(fund: IncidentFund) -> Account:
    """The incident's account for money nobody could receive by the deadline (held for deposit, 供託)."""
    return ledger.account_ensure(
        code=f"unclaimed:{fund.incident_code}",
        name=f"Unclaimed, held for deposit {fund.incident_code}",
        kind=Account.Kind.UNCLAIMED,
    )


def payouts_mark_returned(*, actor: User | Actor, returns: list[Return]) -> None:
    """Mark submitted or paid payouts returned. Caller's transaction; the payout rows are locked by the caller.

    Paid ones get a compensating transfer paid -> allocated. One audit event per payout.
    """
    if not returns:
        return
    now = timezone.now()
    funds = {
        f.pk: f
        for f in IncidentFund.objects.filter(pk__in={r.payout.fund_id for r in returns}).select_related(
            "allocated_account", "paid_account"
        )
    }
    transfers = [
        ledger.TransferInput(
            f"return:{r.payout.pk}",
            funds[r.payout.fund_id].paid_account,
            funds[r.payout.fund_id].allocated_account,
            r.payout.amount_jpy,
            "return",
            funds[r.payout.fund_id].incident_code,
            f"{r.payout.claim_ref} returned: {r.reason_code}"[:200],
        )
        for r in returns
        if r.payout.status == Payout.Status.PAID
    ]
    ledger.transfers_post(transfers=transfers)
    rows_update(
        model=Payout,
        columns={
            "id": [r.payout.pk for r in returns],
            "status": ["returned"] * len(returns),
            "returned_at": [now] * len(returns),
            "return_code": [r.reason_code[:16] for r in returns],
            "return_reason": [r.reason[:200] for r in returns],
            "locked_until": [None] * len(returns),
            "updated_at": [now] * len(returns),
        },
    )
    events = []
    for r in returns:
        p = r.payout
        events.append(
            EventInput(
                "payout.returned",
                "reserves.payout",
                str(p.pk),
                {
                    "claim_ref": p.claim_ref,
                    "amount_jpy": p.amount_jpy,
                    "before": {"status": p.status},
                    "after": {"status": "returned"},
                    "reason_code": r.reason_code,
                    "reason": r.reason,
                    "compensating_transfer": f"return:{p.pk}" if p.status == Payout.Status.PAID else "",
                },
            )
        )
        signals.payout_returned.send(
            sender=Payout,
            claim_ref=p.claim_ref,
            payout_id=p.pk,
            amount_jpy=p.amount_jpy,
            reason_code=r.reason_code,
            reason=r.reason,
        )
        p.status = Payout.Status.RETURNED
    events_record(actor=actor, events=events)


def resend_key(payout: Payout) -> str:
    """`<key>:s1` for the first resend, `<key>:s2` for a resend of that, and so on."""
    match = _RESEND_SUFFIX.search(payout.idempotency_key)
    if match and payout.resend_of_id is not None:
        return f"{payout.idempotency_key[: match.start()]}:s{int(match[1]) + 1}"
    return f"{payout.idempotency_key}:s1"


@transaction.atomic
def payout_resend(*, actor: User | Actor, payout_id: int, payee: Any, reason: str = "") -> Payout:
    """Send a returned (or unclaimed) payout again to the claimant's corrected payee; returns the new payout.

    May run inside the caller's transaction (claims marks its correction applied in the same one).

    `payee` is a reserves.services.PayeeInput (checked here). Refused (409)
    when the payout is not returned or unclaimed, in particular when it was
    already resent: the database allows one resend per payout.
    """
    payout = locked(Payout.objects).filter(pk=payout_id).first()
    if payout is None:
        raise NotFound("not_found", _("No such payout."))
    if payout.status not in (Payout.Status.RETURNED, Payout.Status.UNCLAIMED):
        raise Conflict(
            "not_returned",
            _("Payout %(pk)s is %(status)s; only a returned payout is resent.")
            % {"pk": payout.pk, "status": payout.get_status_display()},
        )
    entitlement = locked(Entitlement.objects).get(pk=payout.entitlement_id)
    entitlement = entitlement_payee_apply(actor=actor, entitlement=entitlement, payee=payee)
    fund = IncidentFund.objects.select_related("allocated_account").get(pk=payout.fund_id)
    if payout.status == Payout.Status.UNCLAIMED:
        ledger.transfers_post(
            transfers=[
                ledger.TransferInput(
                    f"reclaim:{payout.pk}",
                    unclaimed_account(fund),
                    fund.allocated_account,
                    payout.amount_jpy,
                    "reclaim",
                    fund.incident_code,
                    f"{payout.claim_ref} claimed again",
                )
            ]
        )
    now = timezone.now()
    resend = Payout.objects.create(
        fund_id=payout.fund_id,
        entitlement_id=payout.entitlement_id,
        allocation_id=payout.allocation_id,
        claim_ref=payout.claim_ref,
        amount_jpy=payout.amount_jpy,
        breakdown=payout.breakdown,
        method=entitlement.payee_method,
        rail=rail_name_for(entitlement.payee_method),
        in_kind=in_kind_lines(
            method=entitlement.payee_method,
            payee=entitlement.payee,
            lines=entitlement.lines,
            eligible_jpy=entitlement.eligible_jpy,
            amount=payout.amount_jpy,
        ),
        idempotency_key=resend_key(payout),
        resend_of=payout,
        created_at=now,
        updated_at=now,
        next_attempt_at=now,
    )
    before = payout.status
    payout.status, payout.updated_at = Payout.Status.RESENT, now
    payout.save(update_fields=["status", "updated_at"])
    event_record(
        actor=actor,
        action="payout.resent",
        subject=payout,
        data={
            "claim_ref": payout.claim_ref,
            "before": {"status": before},
            "after": {"status": "resent", "resend_payout_id": resend.pk, "method": resend.method, "rail": resend.rail},
            "idempotency_key": resend.idempotency_key,
            "reason": reason,
        },
    )
    enqueue_after_commit("reserves.payouts_send", [resend.pk])
    return resend
