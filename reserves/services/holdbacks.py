"""The holdback: what undecided and appealed claims may still be allowed, counted in every interim rate.

Claims tells reserves, in the transaction that changes a claim, the most the
claim may be allowed (`holdbacks_set`): the amount claimed while it is under
review or appealed, the approved amount once decided, 0 when rejected.
Reserves keeps one `Holdback` row per claim and, from it and the claim's
entitlement, what the claim holds back beyond its entitlement. Allocation
rounds count those amounts as if owed (docs/money.md, "The holdback"), so the
interim rate is the rate the claims still open could at most bring about: a
claim decided late, even higher than first approved, never leaves a later
claimant with a lower rate. What a decision frees flows to everyone through
the next round.

Lock order: holdback rows (by id) before anything they read; entitlement
registration inserts its rows first and then locks the holdbacks.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import Actor, EventInput, events_record
from core.bulk import rows_insert, rows_update
from core.errors import Conflict, InvalidInput, NotFound
from core.locks import locked
from core.lookups import any_of
from core.money import require_yen
from core.types import User
from reserves.engine.allocation import allocation_queue
from reserves.models import Entitlement, Holdback, IncidentFund
from reserves.services._shared import AUDIT_CHUNK
from reserves.waterfall import held_parts


@dataclass(frozen=True)
class HoldInput:
    """The most one claim may be allowed now (0: nothing, e.g. rejected)."""

    claim_ref: str
    amount_jpy: int


def _checked(holds: list[HoldInput]) -> None:
    fields: dict[str, list[str]] = {}
    for i, hold in enumerate(holds):
        if not hold.claim_ref or len(hold.claim_ref) > 64:
            fields[f"holds[{i}].claim_ref"] = [_("1-64 characters")]
        try:
            if require_yen(hold.amount_jpy, "amount_jpy") < 0:
                fields[f"holds[{i}].amount_jpy"] = [_("must be 0 or more")]
        except TypeError:
            fields[f"holds[{i}].amount_jpy"] = [_("a whole number of yen")]
    if len({h.claim_ref for h in holds}) != len(holds):
        fields["holds"] = [_("a claim_ref appears twice")]
    if fields:
        raise InvalidInput("invalid", _("Some holdbacks are invalid; none was recorded."), extra={"fields": fields})


def _locked(refs: list[str]) -> dict[str, Holdback]:
    return {h.claim_ref: h for h in locked(Holdback.objects).filter(any_of("claim_ref", refs)).order_by("id")}


def _write(*, fund: IncidentFund, rows: list[tuple[str, int, int]], locked: dict[str, Holdback]) -> list[list]:
    """Set each (claim_ref, amount, eligible) row's holdback; returns [ref, amount, held] of those that changed."""
    now = timezone.now()
    updates: dict[str, list] = {"id": [], "amount_jpy": [], "held_jpy": [], "held_base_jpy": [], "claimed_jpy": []}
    inserts: dict[str, list] = {
        "fund_id": [],
        "claim_ref": [],
        "amount_jpy": [],
        "held_jpy": [],
        "held_base_jpy": [],
        "claimed_jpy": [],
        "updated_at": [],
    }
    changed = []
    for ref, amount, eligible in rows:
        held, held_base = held_parts(amount_jpy=amount, eligible_jpy=eligible, base_amount_jpy=fund.base_amount_jpy)
        row = locked.get(ref)
        if row is None:
            values = {"amount_jpy": amount, "held_jpy": held, "held_base_jpy": held_base}
            for name, value in (*values.items(), ("claimed_jpy", max(amount, eligible))):
                inserts[name].append(value)
            inserts["fund_id"].append(fund.pk)
            inserts["claim_ref"].append(ref)
            inserts["updated_at"].append(now)
            changed.append([ref, amount, held])
            continue
        claimed = max(row.claimed_jpy, amount, eligible)
        if (row.amount_jpy, row.held_jpy, row.held_base_jpy, row.claimed_jpy) == (amount, held, held_base, claimed):
            continue
        for name, value in (
            ("id", row.pk),
            ("amount_jpy", amount),
            ("held_jpy", held),
            ("held_base_jpy", held_base),
            ("claimed_jpy", claimed),
        ):
            updates[name].append(value)
        changed.append([ref, amount, held])
    rows_update(model=Holdback, columns=updates)
    rows_insert(model=Holdback, columns=inserts)
    return changed


@transaction.atomic
def holdbacks_set(*, actor: User | Actor | None, incident_code: str, holds: list[HoldInput]) -> int:
    """Record the most each claim may be allowed now. Runs inside the caller's transaction (the claim's change).

    Returns how many holdbacks changed. A claim already registered in
    another incident is a 409. When a holdback falls, a round is queued so
    what it frees reaches everyone.
    """
    fund = IncidentFund.objects.filter(incident_code=incident_code).first()
    if fund is None:
        raise NotFound("fund_not_open", _("No incident fund is open for %(code)s.") % {"code": incident_code})
    _checked(holds)
    refs = [h.claim_ref for h in holds]
    locked = _locked(refs)
    foreign = [ref for ref, row in locked.items() if row.fund_id != fund.pk]
    registered = {
        ref: (eligible, fund_id)
        for ref, eligible, fund_id in Entitlement.objects.filter(any_of("claim_ref", refs)).values_list(
            "claim_ref", "eligible_jpy", "fund_id"
        )
    }
    foreign += [ref for ref, (_eligible, fund_id) in registered.items() if fund_id != fund.pk]
    if foreign:
        raise Conflict(
            "holdback_conflict",
            _("Claims of another incident: %(refs)s") % {"refs": ", ".join(sorted(set(foreign))[:5])},
        )
    before = {ref: row.held_jpy for ref, row in locked.items()}
    changed = _write(
        fund=fund,
        rows=[(h.claim_ref, h.amount_jpy, registered.get(h.claim_ref, (0, 0))[0]) for h in holds],
        locked=locked,
    )
    _record(actor=actor, fund=fund, changed=changed)
    if any(held < before.get(ref, 0) for ref, _, held in changed):
        allocation_queue(fund=fund, reason="holdback released", coalesce=True)
    return len(changed)


def _record(*, actor: User | Actor | None, fund: IncidentFund, changed: list[list]) -> None:
    events_record(
        actor=actor,
        events=[
            EventInput(
                "holdbacks.set",
                "reserves.incidentfund",
                str(fund.pk),
                # [claim_ref, the most it may be allowed, what it holds back beyond its entitlement]
                {"incident_code": fund.incident_code, "count": len(chunk), "holdbacks": chunk},
            )
            for chunk in (changed[i : i + AUDIT_CHUNK] for i in range(0, len(changed), AUDIT_CHUNK))
        ],
    )


def holdbacks_follow_entitlements(*, fund: IncidentFund, entitlements: list[tuple[str, int]]) -> None:
    """Registered or raised entitlements (claim_ref, eligible): what each claim holds back beyond them.

    Caller's transaction, after the entitlements are written. A claim claims
    never reported gets a holdback row at its eligible amount (holding nothing).
    """
    refs = [ref for ref, _ in entitlements]
    locked = _locked(refs)
    _write(
        fund=fund,
        rows=[(ref, locked[ref].amount_jpy if ref in locked else eligible, eligible) for ref, eligible in entitlements],
        locked=locked,
    )


def holdbacks_rebase(*, fund: IncidentFund) -> None:
    """Recompute every holdback's base part after the fund's base amount changed. Caller holds the fund lock."""
    base = Value(fund.base_amount_jpy)
    eligible = Coalesce(
        Subquery(Entitlement.objects.filter(claim_ref=OuterRef("claim_ref")).values("eligible_jpy")[:1]), Value(0)
    )
    allowed = Greatest(F("amount_jpy"), eligible)
    Holdback.objects.filter(fund=fund).update(held_base_jpy=Least(allowed, base) - Least(eligible, base))
