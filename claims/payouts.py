"""The bridge from approved claims to the payout workflow in reserves, and back.

Approval commits first; then (on commit) `claims_hand_off` registers what each
newly approved claim is owed with reserves, in its own transaction. A lost
message loses nothing: `claims_hand_off_sweep` (celery beat) finds approved
claims that reserves does not know yet, or knows at a lower amount after an
upheld appeal. Registration is idempotent per claim reference, so a task run
twice registers once. Reserves says when payouts are paid (the `payouts_paid`
signal); `claims_paid_sync` then marks the claims paid, also after commit.
"""

from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery

from audit.services import Actor
from claims import selectors
from claims.models import Claim, Incident
from claims.selectors import ClaimPayoutDetail
from reserves import selectors as reserve_selectors
from reserves import services as reserve_services

HAND_OFF_CHUNK = 5000
ACTOR = Actor.system("claims:payout-hand-off")


def fund_open_for(*, incident: Incident) -> None:
    """Open the incident's fund in reserves (idempotent). May run inside the caller's transaction."""
    reserve_services.incident_fund_open(
        actor=ACTOR, incident_code=incident.code, title=incident.title, detected_at=incident.detected_at
    )


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
    details = selectors.claim_payout_details(claim_ids=list(claim_ids))
    by_incident: dict[str, list[ClaimPayoutDetail]] = defaultdict(list)
    for detail in details:
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


def claims_awaiting_hand_off() -> list[int]:
    """Approved or paid claims that reserves does not know, or knows at less than their approved amount."""
    registered = reserve_selectors.entitlements_by_ref().filter(claim_ref=OuterRef("ref")).values("eligible_jpy")[:1]
    return list(
        Claim.objects.filter(status__in=[Claim.Status.APPROVED, Claim.Status.PAID])
        .annotate(registered=Subquery(registered))
        .filter(Q(registered__isnull=True) | Q(registered__lt=F("approved_amount_jpy")))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def claims_hand_off_sweep() -> dict[str, int]:
    """What a lost message left behind (celery beat): hand off waiting claims, mark paid ones paid."""
    from claims.services import claims_mark_paid

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
        claims_mark_paid(claim_ids=unpaid[start : start + HAND_OFF_CHUNK], actor=Actor.system("claims:paid-sync"))
        for start in range(0, len(unpaid), HAND_OFF_CHUNK)
    )
    return {"handed_off": handed, "marked_paid": marked}


def claims_paid_sync(*, claim_refs: Sequence[str]) -> int:
    """Mark claims paid whose payouts reserves reports paid (idempotent); returns how many changed."""
    from claims.services import claims_mark_paid

    ids = list(Claim.objects.filter(ref__in=list(claim_refs)).values_list("pk", flat=True))
    return claims_mark_paid(claim_ids=ids, actor=Actor.system("claims:paid-sync")) if ids else 0
