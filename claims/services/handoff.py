"""The hand-off from approved claims to the payout workflow in reserves, and back when they are paid.

The contract (docs/decisions/0003-hand-off-between-claims-and-reserves.md):

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
   transaction); after that commits, `claims.paid_sync` marks them paid here
   (`claims_mark_paid`: timeline, audit event, the customer's email).
"""

from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, EventInput, events_record
from claims.models import Claim, ClaimTimelineEntry, Incident
from claims.selectors.handoff import ClaimPayoutDetail, claim_payout_details, claims_awaiting_hand_off
from claims.services._shared import notify_many
from core.dispatch import enqueue_after_commit
from core.locks import locked
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
    """What a lost message left behind (celery beat): hand off waiting claims, mark paid ones paid."""
    waiting = claims_awaiting_hand_off()
    handed = sum(
        claims_hand_off(claim_ids=waiting[start : start + HAND_OFF_CHUNK])
        for start in range(0, len(waiting), HAND_OFF_CHUNK)
    )
    paid_refs = reserve_selectors.paid_payouts().values("claim_ref")
    unpaid = list(
        Claim.objects.filter(status=Claim.Status.APPROVED, ref__in=paid_refs)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    marked = sum(
        claims_mark_paid(claim_ids=unpaid[start : start + HAND_OFF_CHUNK], actor=PAID_SYNC_ACTOR)
        for start in range(0, len(unpaid), HAND_OFF_CHUNK)
    )
    return {"handed_off": handed, "marked_paid": marked}


def paid_after_commit(sender: object, claim_refs: list[str], **kwargs: object) -> None:
    """Receiver of reserves' `payouts_paid` (inside its transaction): mark the claims paid once it commits."""
    refs = sorted(set(claim_refs))
    for start in range(0, len(refs), HAND_OFF_CHUNK):
        enqueue_after_commit("claims.paid_sync", refs[start : start + HAND_OFF_CHUNK], robust=True)


def claims_paid_sync(*, claim_refs: Sequence[str]) -> int:
    """Mark claims paid whose payouts reserves reports paid (idempotent); returns how many changed."""
    ids = list(Claim.objects.filter(ref__in=list(claim_refs)).values_list("pk", flat=True))
    return claims_mark_paid(claim_ids=ids, actor=PAID_SYNC_ACTOR) if ids else 0


@transaction.atomic(durable=True)
def claims_mark_paid(*, claim_ids: Sequence[int], actor: Actor | None = None) -> int:
    """Mark approved claims as paid (idempotent): timeline, one audit event each, the customers' emails.

    Returns how many changed.
    """
    ids = list(
        locked(Claim.objects)
        .filter(pk__in=list(claim_ids), status=Claim.Status.APPROVED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        return 0
    now = timezone.now()
    Claim.objects.filter(pk__in=ids).update(status=Claim.Status.PAID, paid_at=now, updated_at=now)
    ClaimTimelineEntry.objects.bulk_create(
        [ClaimTimelineEntry(claim_id=pk, status=Claim.Status.PAID, created_at=now) for pk in ids],
        batch_size=HAND_OFF_CHUNK,
    )
    for start in range(0, len(ids), HAND_OFF_CHUNK):
        events_record(
            actor=actor,
            events=[
                EventInput(
                    "claim.paid",
                    "claims.claim",
                    str(pk),
                    {"before": {"status": "approved"}, "after": {"status": "paid"}},
                )
                for pk in ids[start : start + HAND_OFF_CHUNK]
            ],
        )
    notify_many(ids, "paid")
    return len(ids)
