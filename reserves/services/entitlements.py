"""Entitlements: what approved claims are owed, registered by claims (the hand-off), raised after an upheld appeal,
and where each claimant is paid (the payee, checked as a rail will need it)."""

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audit.services import Actor, EventInput, event_record, events_record
from core.bulk import rows_insert
from core.errors import Conflict, NotFound
from core.locks import locked
from core.lookups import any_of
from core.money import require_decimal, require_yen
from core.types import User
from core.zengin import ZenginError, to_zengin_kana
from reserves.models import Entitlement, IncidentFund, Payout
from reserves.rails.zengin import ACCOUNT_TYPES
from reserves.services._shared import AUDIT_CHUNK, REF, allocation_after_commit, fund_lock, invalid
from reserves.services.holdbacks import holdbacks_follow_entitlements
from reserves.waterfall import base_of


@dataclass(frozen=True)
class PayeeInput:
    """Where a claimant is paid: "bank" (Zengin fields), "crypto" (an address per asset) or "exchange" (account id)."""

    method: str
    bank_code: str = ""
    branch_code: str = ""
    account_type: str = ""  # ordinary, current, savings (or the Zengin codes 1, 2, 4)
    account_number: str = ""
    holder_kana: str = ""  # half-width katakana, as the bank holds the name
    addresses: dict[str, str] = field(default_factory=dict)
    account_id: str = ""  # method "exchange": the customer's account at the exchange


@dataclass(frozen=True)
class EntitlementLine:
    symbol: str
    quantity: Decimal
    reference_price_jpy: Decimal
    value_jpy: int


@dataclass(frozen=True)
class EntitlementInput:
    claim_ref: str
    customer_account_id: str
    customer_name: str
    eligible_jpy: int
    payee: PayeeInput
    lines: list[EntitlementLine] = field(default_factory=list)


def _payee_json(payee: PayeeInput, symbols: set[str], fields: dict[str, list[str]], prefix: str) -> dict:
    if payee.method == "bank":
        result = {
            "bank_code": payee.bank_code,
            "branch_code": payee.branch_code,
            "account_type": payee.account_type,
            "account_number": payee.account_number.zfill(7),
            "holder_kana": payee.holder_kana,
        }
        if not re.fullmatch(r"\d{4}", payee.bank_code or ""):
            fields[f"{prefix}.bank_code"] = [_("4 digits")]
        if not re.fullmatch(r"\d{3}", payee.branch_code or ""):
            fields[f"{prefix}.branch_code"] = [_("3 digits")]
        if payee.account_type not in ACCOUNT_TYPES:
            fields[f"{prefix}.account_type"] = [_("ordinary, current or savings")]
        if not re.fullmatch(r"\d{1,7}", payee.account_number or ""):
            fields[f"{prefix}.account_number"] = [_("1-7 digits")]
        try:
            kana = to_zengin_kana(payee.holder_kana or "")
            if not kana.strip() or len(kana) > 30:
                raise ZenginError("1-30 characters")
            result["holder_kana"] = kana
        except ZenginError as exc:
            fields[f"{prefix}.holder_kana"] = [
                _("half-width katakana as the bank holds the name: %(problem)s") % {"problem": exc}
            ]
        return result
    if payee.method == "exchange":
        if not re.fullmatch(r"[-A-Za-z0-9_.:]{1,64}", payee.account_id or ""):
            fields[f"{prefix}.account_id"] = [_("the customer's account at the exchange: 1-64 letters, digits or -_.:")]
        return {"account_id": payee.account_id}
    if payee.method == "crypto":
        addresses = dict(payee.addresses or {})
        if not addresses or not all(isinstance(v, str) and 10 <= len(v) <= 128 for v in addresses.values()):
            fields[f"{prefix}.addresses"] = [_("one address (10-128 characters) per asset symbol")]
        missing = sorted(symbols - addresses.keys())
        if missing:
            fields[f"{prefix}.addresses"] = [_("no address for %(symbols)s") % {"symbols": ", ".join(missing)}]
        if not symbols:
            fields[f"{prefix}.method"] = [_("a crypto payout needs the claim's lines (what to pay in kind)")]
        return {"addresses": addresses}
    fields[f"{prefix}.method"] = [_("bank, crypto or exchange")]
    return {}


def _lines_checked(
    items: list[EntitlementLine], eligible_jpy: int, fields: dict[str, list[str]], prefix: str
) -> list[dict]:
    """The claim's lines as stored; problems go to `fields`. Their values must add up to eligible_jpy."""
    lines: list[dict[str, Any]] = []
    for n, line in enumerate(items):
        try:
            quantity = require_decimal(line.quantity, "quantity")
            price = require_decimal(line.reference_price_jpy, "reference_price_jpy")
            value = require_yen(line.value_jpy, "value_jpy")
            if quantity < 0 or price <= 0 or value < 0:
                raise ValueError("negative")
        except (TypeError, ValueError):
            fields[f"{prefix}.lines[{n}]"] = [_("quantity and price are Decimals (price > 0), value_jpy int yen")]
            continue
        lines.append({"symbol": line.symbol, "quantity": str(quantity), "price_jpy": str(price), "value_jpy": value})
    if lines and f"{prefix}.eligible_jpy" not in fields and sum(x["value_jpy"] for x in lines) != eligible_jpy:
        fields[f"{prefix}.lines"] = [_("the lines' values must add up to eligible_jpy")]
    return lines


def _entitlement_row(
    fund: IncidentFund, item: EntitlementInput, index: int, fields: dict, registered_at: dt.datetime
) -> Entitlement:
    prefix = f"entitlements[{index}]"
    if not REF.match(item.claim_ref or ""):
        fields[f"{prefix}.claim_ref"] = [_("1-64 letters, digits or -_.:/")]
    if isinstance(item.eligible_jpy, bool) or not isinstance(item.eligible_jpy, int) or item.eligible_jpy < 0:
        fields[f"{prefix}.eligible_jpy"] = [_("a whole number of yen, 0 or more")]
    if not item.customer_account_id or len(item.customer_account_id) > 64:
        fields[f"{prefix}.customer_account_id"] = [_("1-64 characters")]
    lines = _lines_checked(item.lines, item.eligible_jpy, fields, prefix)
    payee = _payee_json(item.payee, {line["symbol"] for line in lines}, fields, f"{prefix}.payee")
    eligible = item.eligible_jpy if isinstance(item.eligible_jpy, int) else 0
    return Entitlement(
        fund=fund,
        claim_ref=item.claim_ref,
        customer_account_id=item.customer_account_id,
        customer_name=item.customer_name[:200],
        eligible_jpy=eligible,
        base_jpy=base_of(eligible_jpy=max(eligible, 0), base_amount_jpy=fund.base_amount_jpy),
        payee_method=item.payee.method,
        payee=payee,
        lines=lines,
        registered_at=registered_at,
    )


_ENTITLEMENT_COLUMNS = (
    "fund_id",
    "claim_ref",
    "customer_account_id",
    "customer_name",
    "eligible_jpy",
    "base_jpy",
    "payee_method",
    "payee",
    "lines",
    "allocated_jpy",
    "round",
    "registered_at",
)


def _entitlements_insert(rows: list[Entitlement]) -> dict[str, Entitlement]:
    """Insert unsaved entitlements, skipping claims registered meanwhile; claim_ref -> the stored row.

    Caller's transaction. On PostgreSQL one INSERT ... RETURNING per chunk gives the new
    ids; only refs a concurrent registration committed first are read back.
    """
    stored: dict[str, Entitlement] = {}
    for start in range(0, len(rows), AUDIT_CHUNK):
        chunk = rows[start : start + AUDIT_CHUNK]
        columns = {name: [getattr(row, name) for row in chunk] for name in _ENTITLEMENT_COLUMNS}
        inserted = rows_insert(model=Entitlement, columns=columns, ignore_conflicts=True, returning=["id", "claim_ref"])
        ids = dict((ref, pk) for pk, ref in inserted or [])
        for row in chunk:
            if row.claim_ref in ids:
                row.pk = ids[row.claim_ref]
                stored[row.claim_ref] = row
        unknown = [row.claim_ref for row in chunk if row.claim_ref not in stored]  # SQLite, or lost a race
        stored.update((e.claim_ref, e) for e in Entitlement.objects.filter(claim_ref__in=unknown))
    return stored


@transaction.atomic
def entitlements_register(
    *, actor: User | Actor, incident_code: str, entitlements: list[EntitlementInput]
) -> list[Entitlement]:
    """Register what approved claims are owed; runs inside the caller's transaction (the approval).

    Idempotent per claim_ref: the same claim with the same amount again is a
    no-op; with a different amount it is a 409 Conflict (and the caller's
    transaction rolls back). Any invalid entry is a 400 naming it, and
    nothing is registered. After commit the allocation workflow is queued.
    """
    fund = IncidentFund.objects.filter(incident_code=incident_code).first()
    if fund is None:
        raise NotFound("fund_not_open", _("No incident fund is open for %(code)s.") % {"code": incident_code})
    fields: dict[str, list[str]] = {}
    now = timezone.now()  # one registration, one time (asking per row cost 1 % of a worker's CPU)
    rows = [_entitlement_row(fund, item, i, fields, now) for i, item in enumerate(entitlements)]
    refs = [row.claim_ref for row in rows]
    if len(set(refs)) != len(refs):
        fields["entitlements"] = [_("a claim_ref appears twice")]
    if fields:
        raise invalid(_("Some entitlements are invalid; none was registered."), fields)
    existing = {
        e.claim_ref: e
        for start in range(0, len(refs), AUDIT_CHUNK)
        for e in Entitlement.objects.filter(any_of("claim_ref", refs[start : start + AUDIT_CHUNK]))
    }
    new_rows = [row for row in rows if row.claim_ref not in existing]
    stored = dict(existing)
    stored.update(_entitlements_insert(new_rows))
    missing = [row.claim_ref for row in new_rows]
    conflicts = [
        row.claim_ref
        for row in rows
        if stored[row.claim_ref].eligible_jpy != row.eligible_jpy or stored[row.claim_ref].fund_id != fund.pk
    ]
    if conflicts:
        raise Conflict(
            "entitlement_conflict",
            ngettext(
                "%(n)s claim is already registered with a different amount or incident: %(refs)s",
                "%(n)s claims are already registered with a different amount or incident: %(refs)s",
                len(conflicts),
            )
            % {"n": len(conflicts), "refs": ", ".join(conflicts[:5])},
            extra={"claim_refs": conflicts[:100]},
        )
    created = [stored[ref] for ref in missing]
    holdbacks_follow_entitlements(fund=fund, entitlements=[(e.claim_ref, e.eligible_jpy) for e in created])
    # One event per chunk listing every new entitlement: one chain lock per chunk, not per claim.
    events_record(
        actor=actor,
        events=[
            EventInput(
                "entitlements.registered",
                "reserves.incidentfund",
                str(fund.pk),
                {
                    "incident_code": incident_code,
                    "count": len(chunk),
                    "total_jpy": sum(e.eligible_jpy for e in chunk),
                    "entitlements": [
                        [e.pk, e.claim_ref, e.customer_account_id, e.eligible_jpy, e.base_jpy, e.payee_method]
                        for e in chunk
                    ],
                },
            )
            for chunk in (created[i : i + AUDIT_CHUNK] for i in range(0, len(created), AUDIT_CHUNK))
        ],
    )
    if created:
        allocation_after_commit(fund, "entitlements registered", coalesce=True)
    return [stored[ref] for ref in refs]


@transaction.atomic
def entitlement_eligible_raise(
    *, actor: User | Actor, claim_ref: str, eligible_jpy: int, lines: list[EntitlementLine]
) -> bool:
    """Raise what a claim is owed (an upheld appeal); the next round pays the difference.

    May run inside the caller's transaction.
    Returns False when the entitlement already stands at `eligible_jpy`. A
    lower amount is a 409 Conflict: nothing paid is ever clawed back.
    """
    current = Entitlement.objects.filter(claim_ref=claim_ref).values_list("fund_id", flat=True).first()
    if current is None:
        raise NotFound("not_found", _("No entitlement for claim %(ref)s.") % {"ref": claim_ref})
    fund = fund_lock(current)
    entitlement = locked(Entitlement.objects).get(claim_ref=claim_ref)
    require_yen(eligible_jpy, "eligible_jpy")
    if eligible_jpy == entitlement.eligible_jpy:
        return False
    if eligible_jpy < entitlement.eligible_jpy:
        raise Conflict(
            "entitlement_decrease",
            _("Claim %(ref)s is owed ¥%(owed)s; lowering it to ¥%(lower)s is refused.")
            % {"ref": claim_ref, "owed": f"{entitlement.eligible_jpy:,}", "lower": f"{eligible_jpy:,}"},
        )
    fields: dict[str, list[str]] = {}
    checked_lines = _lines_checked(lines, eligible_jpy, fields, "entitlement")
    if fields:
        raise invalid(_("The raised entitlement is invalid."), fields)
    before = {"eligible_jpy": entitlement.eligible_jpy, "base_jpy": entitlement.base_jpy}
    entitlement.eligible_jpy = eligible_jpy
    entitlement.base_jpy = base_of(eligible_jpy=eligible_jpy, base_amount_jpy=fund.base_amount_jpy)
    entitlement.lines = checked_lines
    # Behind every round and not admitted: the next round counts the new amount and brings it up to its target.
    entitlement.round, entitlement.admitted_round = 0, None
    entitlement.save(update_fields=["eligible_jpy", "base_jpy", "lines", "round", "admitted_round"])
    holdbacks_follow_entitlements(fund=fund, entitlements=[(claim_ref, eligible_jpy)])
    event_record(
        actor=actor,
        action="entitlement.raised",
        subject=entitlement,
        data={"before": before, "after": {"eligible_jpy": eligible_jpy, "base_jpy": entitlement.base_jpy}},
    )
    allocation_after_commit(fund, "entitlement raised", coalesce=True)
    return True


@transaction.atomic(durable=True)
def entitlement_payee_update(*, actor: User | Actor, claim_ref: str, payee: PayeeInput) -> Entitlement:
    """Change where a claimant is paid; unpaid payouts use the new payee."""
    entitlement = locked(Entitlement.objects).filter(claim_ref=claim_ref).first()
    if entitlement is None:
        raise NotFound("not_found", _("No such entitlement."))
    if Payout.objects.filter(entitlement=entitlement, status=Payout.Status.SUBMITTED).exists():
        raise Conflict("payout_in_flight", _("A payout to the old account is with the bank; wait for its result."))
    return entitlement_payee_apply(actor=actor, entitlement=entitlement, payee=payee)


def entitlement_payee_apply(*, actor: User | Actor, entitlement: Entitlement, payee: PayeeInput) -> Entitlement:
    """Check and store a new payee on a locked entitlement. Caller's transaction, entitlement row locked."""
    fields: dict[str, list[str]] = {}
    symbols = {line["symbol"] for line in entitlement.lines}
    new_payee = _payee_json(payee, symbols, fields, "payee")
    if fields:
        raise invalid(_("The payee is invalid."), fields)
    before = {"method": entitlement.payee_method}
    entitlement.payee_method, entitlement.payee = payee.method, new_payee
    entitlement.save(update_fields=["payee_method", "payee"])
    event_record(
        actor=actor,
        action="entitlement.payee_changed",
        subject=entitlement,
        data={"before": before, "after": {"method": payee.method}},
    )
    return entitlement
