"""The hand-off from approved claims to the payout workflow in reserves, and back when they are paid.

The contract (docs/decisions/0004-hand-off-between-claims-and-reserves.md):

1. An incident that opens gets its fund in reserves in the same transaction
   (`fund_open_for`), so staff can set the base amount and expected loss early.
2. An approval commits first; then (after commit) `claims.payouts_hand_off`
   tasks register what each newly approved claim is owed with reserves, in a
   transaction of their own (`claims_hand_off`). Registration is idempotent per
   claim reference, so a task delivered twice registers once; an upheld appeal
   raises what reserves owes.
3. A lost message loses nothing: `claims_hand_off_sweep` (celery beat) finds
   approved claims that reserves does not know, or knows at a lower amount.
4. Reserves says which claims it paid (its `payouts_paid` signal, inside its
   transaction); after that commits, `claims.paid_sync` records what each claim
   has received so far (`claims_payments_sync`: partly paid, or paid in full;
   timeline, audit event, the customer's email).
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, EventInput, events_record
from claims.models import Claim, ClaimTimelineEntry, Incident
from claims.selectors.handoff import ClaimPayoutDetail, claim_payout_details, claims_awaiting_hand_off
from claims.services._shared import notify_many
from core.bulk import rows_update
from core.dispatch import enqueue_after_commit
from core.locks import locked
from core.lookups import any_of
from reserves import selectors as reserve_selectors
from reserves import services as reserve_services

HAND_OFF_CHUNK = 5000
ACTOR = Actor.system("claims:payout-hand-off")
PAID_SYNC_ACTOR = Actor.system("claims:paid-sync")


def fund_open_for(*, incident: Incident) -> None:
    """Open the incident's fund in reserves (idempotent). May run inside the caller's transaction."""
    reserve_services.incident_fund_open(
        actor=ACTOR, incident_code=incident.code, title=incident.title, detected_at=incident.detected_at
    )


def hand_off_after_commit(*, claim_ids: list[int]) -> None:
    """Queue the hand-off of newly approved claims for when the approval commits. Caller's transaction."""
    for start in range(0, len(claim_ids), HAND_OFF_CHUNK):
        # robust: the approval has committed; a lost hand-off is found by the sweep, not shown as a failure.
        enqueue_after_commit("claims.payouts_hand_off", list(claim_ids[start : start + HAND_OFF_CHUNK]), robust=True)


def _payee(detail: ClaimPayoutDetail) -> reserve_services.PayeeInput:
    choice = detail.payout
    if choice["method"] == "bank":
        return reserve_services.PayeeInput(
            method="bank",
            bank_code=choice["bank_code"],
            branch_code=choice["branch_code"],
            account_type=choice["account_type"],
            account_number=choice["account_number"],
            holder_kana=choice["holder_name_kana"],
        )
    if choice["method"] == "exchange":
        return reserve_services.PayeeInput(method="exchange", account_id=detail.customer_account_id)
    return reserve_services.PayeeInput(method="crypto", addresses=dict(choice["addresses"]))


def _lines(detail: ClaimPayoutDetail) -> list[reserve_services.EntitlementLine]:
    return [
        reserve_services.EntitlementLine(
            symbol=line.symbol,
            quantity=line.quantity,
            reference_price_jpy=line.reference_price_jpy,
            value_jpy=line.value_jpy,
        )
        for line in detail.lines
    ]


@transaction.atomic(durable=True)
def claims_hand_off(*, claim_ids: Sequence[int]) -> int:
    """Register approved claims with reserves; raise entitlements an upheld appeal increased.

    Idempotent: claims already registered at their approved amount are left
    alone. Claims no longer approved or paid are skipped. Returns how many
    entitlements were created or raised.
    """
    by_incident: dict[str, list[ClaimPayoutDetail]] = defaultdict(list)
    for detail in claim_payout_details(claim_ids=list(claim_ids)):
        by_incident[detail.incident_code].append(detail)
    changed = 0
    for code, items in by_incident.items():
        fund_open_for(incident=Incident.objects.get(code=code))
        known = reserve_selectors.entitlement_amounts(claim_refs=[d.ref for d in items])
        new = [d for d in items if d.ref not in known]
        reserve_services.entitlements_register(
            actor=ACTOR,
            incident_code=code,
            entitlements=[
                reserve_services.EntitlementInput(
                    claim_ref=d.ref,
                    customer_account_id=d.customer_account_id,
                    customer_name=d.customer_name,
                    eligible_jpy=d.approved_amount_jpy,
                    payee=_payee(d),
                    lines=_lines(d),
                )
                for d in new
            ],
        )
        changed += len(new)
        for d in items:
            if d.ref in known and known[d.ref] < d.approved_amount_jpy:
                changed += reserve_services.entitlement_eligible_raise(
                    actor=ACTOR, claim_ref=d.ref, eligible_jpy=d.approved_amount_jpy, lines=_lines(d)
                )
    return changed


def claims_hand_off_sweep() -> dict[str, int]:
    """What a lost message left behind (celery beat): hand off waiting claims, record payments not yet recorded."""
    waiting = claims_awaiting_hand_off()
    handed = sum(
        claims_hand_off(claim_ids=waiting[start : start + HAND_OFF_CHUNK])
        for start in range(0, len(waiting), HAND_OFF_CHUNK)
    )
    paid_refs = reserve_selectors.paid_payouts().values("claim_ref")
    behind = list(
        Claim.objects.filter(status__in=[Claim.Status.APPROVED, Claim.Status.PARTLY_PAID], ref__in=paid_refs)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    recorded = sum(
        claims_payments_sync(claim_ids=behind[start : start + HAND_OFF_CHUNK], actor=PAID_SYNC_ACTOR)
        for start in range(0, len(behind), HAND_OFF_CHUNK)
    )
    return {"handed_off": handed, "payments_recorded": recorded}


def paid_after_commit(sender: object, claim_refs: list[str], **kwargs: object) -> None:
    """Receiver of reserves' `payouts_paid` (inside its transaction): record the claims' payments once it commits."""
    refs = sorted(set(claim_refs))
    for start in range(0, len(refs), HAND_OFF_CHUNK):
        enqueue_after_commit("claims.paid_sync", refs[start : start + HAND_OFF_CHUNK], robust=True)


def payments_after_return(sender: object, claim_ref: str, **kwargs: object) -> None:
    """Receiver of reserves' `payout_returned`: a paid payout came back, so the claim's paid-so-far falls
    once reserves' transaction commits."""
    paid_after_commit(sender, [claim_ref])


def claims_paid_sync(*, claim_refs: Sequence[str]) -> int:
    """Record what reserves reports paid on these claims (idempotent); returns how many claims changed."""
    ids = list(Claim.objects.filter(any_of("ref", claim_refs)).values_list("pk", flat=True))
    return claims_payments_sync(claim_ids=ids, actor=PAID_SYNC_ACTOR) if ids else 0


@dataclass(frozen=True)
class _Payment:
    claim_id: int
    before: str
    paid_before: int
    paid_jpy: int
    approved_jpy: int


@transaction.atomic(durable=True)
def claims_payments_sync(*, claim_ids: Sequence[int], actor: Actor | None = None) -> int:
    """Bring approved claims' paid-so-far and payment state in step with reserves (idempotent).

    A claim is `partly_paid` while reserves has paid some but not all of its
    approved amount (each change adds a timeline entry with the amount and
    rate received so far), `paid` once paid in full, and back to what is
    true when a paid payout came back (returned). Returns how many claims
    changed.
    """
    rows = list(
        locked(Claim.objects)
        .filter(
            any_of("pk", claim_ids), status__in=[Claim.Status.APPROVED, Claim.Status.PARTLY_PAID, Claim.Status.PAID]
        )
        .order_by("pk")
        .values_list("pk", "ref", "status", "approved_amount_jpy", "paid_jpy")
    )
    paid = reserve_selectors.paid_for_claims(claim_refs=[row[1] for row in rows])
    by_state: dict[str, list[_Payment]] = defaultdict(list)
    for pk, ref, status, approved_or_none, paid_before in rows:
        approved = approved_or_none or 0  # approved, partly paid and paid claims always have an amount
        paid_now = min(paid.get(ref, 0), approved)
        if paid_now != paid_before:
            state: str = Claim.Status.PAID if paid_now >= approved else Claim.Status.PARTLY_PAID
            by_state[state if paid_now else Claim.Status.APPROVED].append(
                _Payment(pk, status, paid_before, paid_now, approved)
            )
    now = timezone.now()
    for state, payments in by_state.items():
        _payments_write(state=state, payments=payments, actor=actor, now=now)
    return sum(len(payments) for payments in by_state.values())


def _payments_write(*, state: str, payments: list[_Payment], actor: Actor | None, now: dt.datetime) -> None:
    """Set paid-so-far and the state of claims that all reach `state`; timeline, audit, emails. Claims locked."""
    ids = [p.claim_id for p in payments]
    count = len(ids)
    rows_update(
        model=Claim,
        columns={
            "id": ids,
            "paid_jpy": [p.paid_jpy for p in payments],
            "status": [state] * count,
            "updated_at": [now] * count,
            # when paid in full (cleared if a payment came back)
            "paid_at": [now if state == Claim.Status.PAID else None] * count,
        },
    )
    entries = [
        ClaimTimelineEntry(
            claim_id=p.claim_id, status=state, paid_jpy=p.paid_jpy, approved_jpy=p.approved_jpy, created_at=now
        )
        for p in payments
    ]
    ClaimTimelineEntry.objects.bulk_create(entries, batch_size=HAND_OFF_CHUNK)
    for start in range(0, len(payments), HAND_OFF_CHUNK):
        events_record(
            actor=actor,
            events=[
                EventInput(
                    # claim.paid, claim.partly_paid; claim.payment_returned when what was paid came back
                    f"claim.{state}" if p.paid_jpy > p.paid_before else "claim.payment_returned",
                    "claims.claim",
                    str(p.claim_id),
                    {
                        "before": {"status": p.before, "paid_jpy": p.paid_before},
                        "after": {"status": state, "paid_jpy": p.paid_jpy},
                    },
                )
                for p in payments[start : start + HAND_OFF_CHUNK]
            ],
        )
    if state != Claim.Status.APPROVED:  # a return is told by its own message (payout_returned)
        notify_many([p.claim_id for p in payments if p.paid_jpy > p.paid_before], state)
