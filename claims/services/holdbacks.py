"""What each claim may still be allowed, told to reserves whenever it changes (the holdback, docs/money.md).

Interim rates are computed as if every claim still under review or appealed
were allowed at what it claims (or at what review now allows, if higher), so
a claim decided late, even higher than the snapshot, never leaves a later
claimant with a lower rate than an earlier one. Claims reports that amount in
the same transaction as the change: at filing, when the customer edits a
line, when staff adjust one, at the decision and at an appeal. A decided
claim reports its approved amount (0 when rejected or nothing is due), which
reserves turns into the claim's entitlement at hand-off.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from audit.services import Actor
from claims.models import Claim, ClaimLine, Incident
from claims.services.handoff import fund_open_for
from core.errors import NotFound
from core.locks import locked
from core.money import jpy_value
from reserves.services import HoldInput, holdbacks_set

ACTOR = Actor.system("claims:holdback")
CHUNK = 5000
UNDECIDED = (
    Claim.Status.SUBMITTED,
    Claim.Status.UNDER_REVIEW,
    Claim.Status.INFO_REQUESTED,
    Claim.Status.RECOMMENDED,
    Claim.Status.APPEALED,
)
DECIDED_WITH_MONEY = (Claim.Status.APPROVED, Claim.Status.PARTLY_PAID, Claim.Status.PAID)


def hold_amount(
    *, status: str, approved_amount_jpy: int | None, amount_jpy: int, claimed_value_jpy: int, appealable: bool
) -> int:
    """The most a claim may be allowed now.

    What it claims while undecided or appealed, or while a decision that cut
    it may still be appealed; its approved amount (0 when rejected or nothing
    is due) once the decision is final.
    """
    if status in UNDECIDED:
        return max(claimed_value_jpy, amount_jpy)
    decided = (approved_amount_jpy or 0) if status in DECIDED_WITH_MONEY else 0
    return max(claimed_value_jpy, decided) if appealable else decided


def _claimed_values(claim_ids: list[int]) -> dict[int, int]:
    """claim id -> the value of its claimed quantities at the reference prices (truncated per line)."""
    values: dict[int, int] = defaultdict(int)
    rows = ClaimLine.objects.filter(claim_id__in=claim_ids).values_list(
        "claim_id", "claimed_quantity", "asset__reference_price_jpy"
    )
    for claim_id, quantity, price in rows:
        values[claim_id] += jpy_value(quantity, price) if price is not None else 0
    return values


def holdbacks_push(*, claims: Iterable[Claim], claimed_values: dict[int, int] | None = None) -> None:
    """Tell reserves the most each claim may be allowed now. Caller's transaction (the change to the claims).

    `claimed_values` (claim id -> value of its claimed quantities) when the caller has just
    computed them (a filing), instead of reading the lines again.
    """
    claims = list(claims)
    claimed = claimed_values if claimed_values is not None else _claimed_values([c.pk for c in claims])
    by_incident: dict[int, list[HoldInput]] = defaultdict(list)
    for claim in claims:
        amount = hold_amount(
            status=claim.status,
            approved_amount_jpy=claim.approved_amount_jpy,
            amount_jpy=claim.amount_jpy,
            claimed_value_jpy=claimed[claim.pk],
            appealable=claim.appeal_until is not None,
        )
        by_incident[claim.incident_id].append(HoldInput(claim.ref, amount))
    if all(Claim.incident.is_cached(claim) for claim in claims):
        incidents = {claim.incident_id: claim.incident for claim in claims}
    else:
        incidents = Incident.objects.in_bulk(list(by_incident))
    for incident_id, holds in by_incident.items():
        incident = incidents[incident_id]
        try:
            holdbacks_set(actor=ACTOR, incident_code=incident.code, holds=holds)
        except NotFound as exc:  # refused before writing anything (its savepoint is rolled back)
            if exc.code != "fund_not_open":
                raise
            # A fund opens with its incident; one opened before that gets it now (idempotent). Looking first
            # on every call cost each filing three statements.
            fund_open_for(incident=incident)
            holdbacks_set(actor=ACTOR, incident_code=incident.code, holds=holds)


def appeal_windows_close(*, now: dt.datetime | None = None) -> int:
    """Close the appeal windows that passed (celery beat): what those claims held back beyond their decision flows
    to everyone through the next round. Returns how many claims; idempotent."""
    now = now or timezone.now()
    closed = 0
    while ids := list(
        Claim.objects.filter(appeal_until__lte=now).order_by("appeal_until", "pk").values_list("pk", flat=True)[:CHUNK]
    ):
        with transaction.atomic(durable=True):
            claims = list(locked(Claim.objects).filter(pk__in=ids, appeal_until__lte=now).order_by("pk"))
            Claim.objects.filter(pk__in=[c.pk for c in claims]).update(appeal_until=None)
            for claim in claims:
                claim.appeal_until = None
            holdbacks_push(claims=claims)
        closed += len(claims)
    return closed


def holdbacks_refresh(*, incident: Incident) -> None:
    """Report every claim of an incident again (its prices changed). Caller's transaction; chunks of 5,000."""
    ids = list(Claim.objects.filter(incident=incident).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        holdbacks_push(claims=Claim.objects.filter(pk__in=ids[start : start + CHUNK]).order_by("pk"))
