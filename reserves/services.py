"""Writes of the reserves app: reserve fundings, policies, incident funds, entitlements, recoveries, retries.

Public services are one durable transaction each unless they say they run
inside the caller's transaction. Tasks are queued with transaction.on_commit.
The allocation and payout engine lives in reserves/allocation.py; its public
entry points are re-exported here.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import Actor, EventInput, event_record, events_record
from config.errors import ApplicationError, Conflict, InvalidInput, NotFound
from reserves import ledger
from reserves.allocation import (  # noqa: F401 - re-exported entry points of the payout engine
    allocation_run,
    payouts_allocate_chunk,
    payouts_dispatch,
    payouts_send_due,
)
from reserves.bulk import rows_insert, rows_update
from reserves.models import (
    Account,
    CustodyValuation,
    Entitlement,
    IncidentFund,
    InsurancePolicy,
    Payout,
    RecoveryClaim,
    ReserveFunding,
)
from reserves.money import require_decimal, require_yen
from reserves.rails.zengin import ACCOUNT_TYPES, ZenginError, to_zengin_kana
from reserves.waterfall import base_of

AUDIT_CHUNK = 5000
_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,32}$")
_REF = re.compile(r"^[-A-Za-z0-9_.:/]{1,64}$")


def _who(actor: Any) -> Actor:
    return Actor.of(actor)


def _invalid(detail: str, fields: dict[str, list[str]]) -> InvalidInput:
    return InvalidInput("invalid", detail, extra={"fields": fields})


def _queue_allocation(fund: IncidentFund, reason: str) -> None:
    """After commit, ask a worker to run the allocation for this fund."""
    from reserves.tasks import incident_allocate

    if not fund.on_hold:
        transaction.on_commit(partial(incident_allocate.delay, fund.incident_code, reason))


# --- Reserve: funding and replenishment with maker-checker -----------------------------------


@transaction.atomic(durable=True)
def funding_request(
    *,
    actor: Any,
    kind: str,
    amount_jpy: int,
    reference: str,
    note: str = "",
    idempotency_key: str = "",
) -> ReserveFunding:
    """The maker's step: ask for money to go into the reserve. Repeating the same key returns the first request."""
    who = _who(actor)
    fields: dict[str, list[str]] = {}
    if kind not in ReserveFunding.Kind.values:
        fields["kind"] = ["must be funding or replenishment"]
    if isinstance(amount_jpy, bool) or not isinstance(amount_jpy, int) or amount_jpy <= 0:
        fields["amount_jpy"] = ["must be a positive whole number of yen"]
    if not reference.strip() or len(reference) > 100:
        fields["reference"] = ["required, at most 100 characters (the remittance reference)"]
    if len(idempotency_key) > 100:
        fields["idempotency_key"] = ["at most 100 characters"]
    if fields:
        raise _invalid("The funding request is invalid.", fields)

    def replayed() -> ReserveFunding | None:
        existing = ReserveFunding.objects.filter(requested_by=who.name, idempotency_key=idempotency_key).first()
        if existing is not None and (existing.kind, existing.amount_jpy, existing.reference) != (
            kind,
            amount_jpy,
            reference.strip(),
        ):
            raise Conflict("idempotency_key_reused", "This Idempotency-Key was used for a different request.")
        return existing

    if idempotency_key and (existing := replayed()) is not None:
        return existing
    try:
        with transaction.atomic():
            funding = ReserveFunding.objects.create(
                kind=kind,
                amount_jpy=amount_jpy,
                reference=reference.strip(),
                note=note,
                idempotency_key=idempotency_key,
                requested_by=who.name,
                requested_by_id=who.id,
            )
    except IntegrityError:  # the same key committed by a concurrent request a moment ago
        existing = replayed()
        if existing is None:
            raise
        return existing
    event_record(
        actor=actor,
        action="reserve.funding_requested",
        subject=funding,
        data={"after": {"kind": kind, "amount_jpy": amount_jpy, "reference": funding.reference, "note": note}},
    )
    return funding


def _funding_lock(funding_id: int) -> ReserveFunding:
    funding = ReserveFunding.objects.select_for_update(of=("self",), no_key=True).filter(pk=funding_id).first()
    if funding is None:
        raise NotFound("not_found", "No such funding request.")
    if funding.status != ReserveFunding.Status.REQUESTED:
        raise Conflict("already_decided", f"This funding request is already {funding.status}.")
    return funding


def _check_four_eyes(funding: ReserveFunding, who: Actor) -> None:
    if who.name == funding.requested_by or (who.id is not None and who.id == funding.requested_by_id):
        raise ApplicationError("four_eyes", "The checker must be a different person from the maker.", status=403)


@transaction.atomic(durable=True)
def funding_approve(*, actor: Any, funding: ReserveFunding) -> ReserveFunding:
    """The checker's step: a different person approves; the money moves into the reserve, short incidents top up."""
    who = _who(actor)
    funding = _funding_lock(funding.pk)
    _check_four_eyes(funding, who)
    ledger.transfers_post(
        transfers=[
            ledger.TransferInput(
                idempotency_key=f"funding:{funding.pk}",
                debit=ledger.exchange_account(),
                credit=ledger.reserve_account(),
                amount_jpy=funding.amount_jpy,
                kind="funding",
                memo=f"{funding.kind} {funding.reference}"[:200],
            )
        ]
    )
    funding.status = ReserveFunding.Status.APPROVED
    funding.decided_by, funding.decided_by_id, funding.decided_at = who.name, who.id, timezone.now()
    funding.save(update_fields=["status", "decided_by", "decided_by_id", "decided_at"])
    event_record(
        actor=actor,
        action="reserve.funding_approved",
        subject=funding,
        data={"before": {"status": "requested"}, "after": {"status": "approved", "amount_jpy": funding.amount_jpy}},
    )
    # More money in the reserve can raise the distribution rate of every short incident.
    for fund in IncidentFund.objects.filter(on_hold=False).exclude(round=0):
        _queue_allocation(fund, "reserve funding")
    return funding


@transaction.atomic(durable=True)
def funding_reject(*, actor: Any, funding: ReserveFunding, reason: str) -> ReserveFunding:
    who = _who(actor)
    if not reason.strip():
        raise _invalid("Say why the request is rejected.", {"reason": ["required"]})
    funding = _funding_lock(funding.pk)
    _check_four_eyes(funding, who)
    funding.status = ReserveFunding.Status.REJECTED
    funding.decided_by, funding.decided_by_id, funding.decided_at = who.name, who.id, timezone.now()
    funding.decision_reason = reason
    funding.save(update_fields=["status", "decided_by", "decided_by_id", "decided_at", "decision_reason"])
    event_record(
        actor=actor,
        action="reserve.funding_rejected",
        subject=funding,
        data={"before": {"status": "requested"}, "after": {"status": "rejected"}, "reason": reason},
    )
    return funding


@transaction.atomic(durable=True)
def custody_value_record(*, actor: Any, value_jpy: int, as_of: dt.datetime) -> CustodyValuation:
    """Record the value of customer assets in custody (the percentage part of the reserve requirement)."""
    if isinstance(value_jpy, bool) or not isinstance(value_jpy, int) or value_jpy < 0:
        raise _invalid("The custody value is invalid.", {"value_jpy": ["must be a whole number of yen, 0 or more"]})
    valuation = CustodyValuation.objects.create(as_of=as_of, value_jpy=value_jpy, recorded_by=_who(actor).name)
    event_record(
        actor=actor, action="reserve.custody_valued", subject=valuation, data={"after": {"value_jpy": value_jpy}}
    )
    return valuation


# --- Insurance policies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyInput:
    insurer: str
    policy_number: str
    period_start: dt.datetime
    period_end: dt.datetime
    layer_order: int
    retention_jpy: int
    per_occurrence_limit_jpy: int
    aggregate_limit_jpy: int
    coinsurance_share: Decimal = Decimal(1)
    exclusions: str = ""


def _check_policy(data: PolicyInput) -> None:
    fields: dict[str, list[str]] = {}
    if not data.insurer.strip():
        fields["insurer"] = ["required"]
    if not _REF.match(data.policy_number or ""):
        fields["policy_number"] = ["1-64 letters, digits or -_.:/"]
    if data.period_end <= data.period_start:
        fields["period_end"] = ["must be after period_start"]
    if isinstance(data.layer_order, bool) or not isinstance(data.layer_order, int) or data.layer_order < 1:
        fields["layer_order"] = ["must be 1 or more"]
    for name in ("retention_jpy", "per_occurrence_limit_jpy", "aggregate_limit_jpy"):
        value = getattr(data, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            fields[name] = ["must be a whole number of yen, 0 or more"]
    if "per_occurrence_limit_jpy" not in fields and data.per_occurrence_limit_jpy <= 0:
        fields["per_occurrence_limit_jpy"] = ["must be more than 0"]
    if not fields.keys() & {"per_occurrence_limit_jpy", "aggregate_limit_jpy"} and (
        data.aggregate_limit_jpy < data.per_occurrence_limit_jpy
    ):
        fields["aggregate_limit_jpy"] = ["must be at least the per-occurrence limit"]
    share = data.coinsurance_share
    if (
        not isinstance(share, Decimal)
        or not Decimal(0) < share <= Decimal(1)
        or share != share.quantize(Decimal("0.0001"))
    ):
        fields["coinsurance_share"] = ["a decimal above 0 and at most 1, with up to 4 places"]
    if fields:
        raise _invalid("The policy is invalid.", fields)


@transaction.atomic(durable=True)
def policy_register(*, actor: Any, data: PolicyInput) -> InsurancePolicy:
    """Register an insurance policy with its two ledger accounts (the insurer, and recoveries received)."""
    _check_policy(data)
    if InsurancePolicy.objects.filter(policy_number=data.policy_number).exists():
        raise Conflict("policy_exists", f"Policy {data.policy_number} is already registered.")
    account = ledger.account_ensure(
        code=f"insurance:{data.policy_number}",
        name=f"Recoveries from {data.insurer} ({data.policy_number})",
        kind=Account.Kind.INSURANCE,
    )
    insurer_account = ledger.account_ensure(
        code=f"insurer:{data.policy_number}", name=f"{data.insurer} ({data.policy_number})", kind=Account.Kind.EXTERNAL
    )
    try:
        with transaction.atomic():
            policy = InsurancePolicy.objects.create(
                **data.__dict__, account=account, insurer_account=insurer_account, created_by=_who(actor).name
            )
    except IntegrityError as exc:
        raise Conflict("policy_exists", f"Policy {data.policy_number} is already registered.") from exc
    event_record(actor=actor, action="policy.registered", subject=policy, data={"after": dict(data.__dict__)})
    return policy


# --- Incident funds -------------------------------------------------------------------------------


@transaction.atomic
def incident_fund_open(
    *, actor: Any, incident_code: str, title: str, detected_at: dt.datetime, base_amount_jpy: int = 0
) -> IncidentFund:
    """The funding record of an incident, created once (calling again returns it unchanged).

    May run inside the caller's transaction. `base_amount_jpy` is paid to
    every claimant (up to their eligible amount) before the pro-rata share;
    change it later with incident_fund_configure, before the first allocation.
    """
    fund = IncidentFund.objects.filter(incident_code=incident_code).first()
    if fund is not None:
        return fund
    fields: dict[str, list[str]] = {}
    if not _SLUG.match(incident_code or ""):
        fields["incident_code"] = ["1-32 letters, digits, - or _"]
    if isinstance(base_amount_jpy, bool) or not isinstance(base_amount_jpy, int) or base_amount_jpy < 0:
        fields["base_amount_jpy"] = ["must be a whole number of yen, 0 or more"]
    if detected_at is None or timezone.is_naive(detected_at):
        fields["detected_at"] = ["a timezone-aware time is required"]
    if fields:
        raise _invalid("The incident fund is invalid.", fields)
    accounts = {
        kind: ledger.account_ensure(code=f"{kind}:{incident_code}", name=f"{label} {incident_code}", kind=kind)
        for kind, label in (
            (Account.Kind.POOL, "Funds in hand for"),
            (Account.Kind.ALLOCATED, "Allocated, unpaid for"),
            (Account.Kind.PAID, "Paid to claimants of"),
        )
    }
    try:
        with transaction.atomic():
            fund = IncidentFund.objects.create(
                incident_code=incident_code,
                title=title[:200],
                detected_at=detected_at,
                base_amount_jpy=base_amount_jpy,
                pool_account=accounts[Account.Kind.POOL],
                allocated_account=accounts[Account.Kind.ALLOCATED],
                paid_account=accounts[Account.Kind.PAID],
                opened_by=_who(actor).name,
            )
    except IntegrityError:
        return IncidentFund.objects.get(incident_code=incident_code)
    event_record(
        actor=actor,
        action="fund.opened",
        subject=fund,
        data={"after": {"incident_code": incident_code, "base_amount_jpy": base_amount_jpy}},
    )
    return fund


def _fund_lock(fund_id: int) -> IncidentFund:
    # NO KEY UPDATE: rows that merely reference the fund (entitlements, payouts) take KEY SHARE
    # on it at commit; a plain FOR UPDATE would make those commits deadlock against us.
    return IncidentFund.objects.select_for_update(of=("self",), no_key=True).get(pk=fund_id)


@transaction.atomic(durable=True)
def incident_fund_configure(
    *, actor: Any, fund: IncidentFund, base_amount_jpy: int | None = None, expected_loss_jpy: int | None = None
) -> IncidentFund:
    """Set the base amount (before the first allocation only) and the expected eligible loss (any time).

    The distribution rate is based on the larger of the expected loss and the
    registered claims, so claimants approved early are not paid at a rate the
    later ones cannot get.
    """
    fund = _fund_lock(fund.pk)
    before = {"base_amount_jpy": fund.base_amount_jpy, "expected_loss_jpy": fund.expected_loss_jpy}
    fields: dict[str, list[str]] = {}
    for name, value in (("base_amount_jpy", base_amount_jpy), ("expected_loss_jpy", expected_loss_jpy)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            fields[name] = ["must be a whole number of yen, 0 or more"]
    if fields:
        raise _invalid("The fund settings are invalid.", fields)
    if base_amount_jpy is not None and base_amount_jpy != fund.base_amount_jpy:
        if fund.round > 0:
            raise ApplicationError("allocation_started", "The base amount cannot change after the first allocation.")
        fund.base_amount_jpy = base_amount_jpy
        # Registered entitlements keep their base in step (none has been allocated yet).
        for entitlement in fund.entitlements.only("id", "eligible_jpy"):
            Entitlement.objects.filter(pk=entitlement.pk).update(
                base_jpy=base_of(eligible_jpy=entitlement.eligible_jpy, base_amount_jpy=base_amount_jpy)
            )
    if expected_loss_jpy is not None:
        fund.expected_loss_jpy = expected_loss_jpy
    fund.save(update_fields=["base_amount_jpy", "expected_loss_jpy"])
    after = {"base_amount_jpy": fund.base_amount_jpy, "expected_loss_jpy": fund.expected_loss_jpy}
    if after != before:
        event_record(actor=actor, action="fund.configured", subject=fund, data={"before": before, "after": after})
        _queue_allocation(fund, "fund settings changed")
    return fund


@transaction.atomic(durable=True)
def incident_fund_hold(*, actor: Any, fund: IncidentFund, on_hold: bool, reason: str = "") -> IncidentFund:
    """Pause or resume allocation and disbursement for an incident (a release queues the allocation)."""
    fund = _fund_lock(fund.pk)
    if fund.on_hold != on_hold:
        fund.on_hold = on_hold
        fund.save(update_fields=["on_hold"])
        event_record(
            actor=actor,
            action="fund.held" if on_hold else "fund.released",
            subject=fund,
            data={"before": {"on_hold": not on_hold}, "after": {"on_hold": on_hold}, "reason": reason},
        )
        _queue_allocation(fund, "released")
    return fund


# --- Entitlements (registered by claims at approval) ------------------------------------------------


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
            fields[f"{prefix}.bank_code"] = ["4 digits"]
        if not re.fullmatch(r"\d{3}", payee.branch_code or ""):
            fields[f"{prefix}.branch_code"] = ["3 digits"]
        if payee.account_type not in ACCOUNT_TYPES:
            fields[f"{prefix}.account_type"] = ["ordinary, current or savings"]
        if not re.fullmatch(r"\d{1,7}", payee.account_number or ""):
            fields[f"{prefix}.account_number"] = ["1-7 digits"]
        try:
            kana = to_zengin_kana(payee.holder_kana or "")
            if not kana.strip() or len(kana) > 30:
                raise ZenginError("1-30 characters")
            result["holder_kana"] = kana
        except ZenginError as exc:
            fields[f"{prefix}.holder_kana"] = [f"half-width katakana as the bank holds the name: {exc}"]
        return result
    if payee.method == "exchange":
        if not re.fullmatch(r"[-A-Za-z0-9_.:]{1,64}", payee.account_id or ""):
            fields[f"{prefix}.account_id"] = ["the customer's account at the exchange: 1-64 letters, digits or -_.:"]
        return {"account_id": payee.account_id}
    if payee.method == "crypto":
        addresses = dict(payee.addresses or {})
        if not addresses or not all(isinstance(v, str) and 10 <= len(v) <= 128 for v in addresses.values()):
            fields[f"{prefix}.addresses"] = ["one address (10-128 characters) per asset symbol"]
        missing = sorted(symbols - addresses.keys())
        if missing:
            fields[f"{prefix}.addresses"] = [f"no address for {', '.join(missing)}"]
        if not symbols:
            fields[f"{prefix}.method"] = ["a crypto payout needs the claim's lines (what to pay in kind)"]
        return {"addresses": addresses}
    fields[f"{prefix}.method"] = ["bank, crypto or exchange"]
    return {}


def _lines_checked(
    items: list[EntitlementLine], eligible_jpy: int, fields: dict[str, list[str]], prefix: str
) -> list[dict]:
    """The claim's lines as stored; problems go to `fields`. Their values must add up to eligible_jpy."""
    lines = []
    for n, line in enumerate(items):
        try:
            quantity = require_decimal(line.quantity, "quantity")
            price = require_decimal(line.reference_price_jpy, "reference_price_jpy")
            value = require_yen(line.value_jpy, "value_jpy")
            if quantity < 0 or price <= 0 or value < 0:
                raise ValueError("negative")
        except (TypeError, ValueError):
            fields[f"{prefix}.lines[{n}]"] = ["quantity and price are Decimals (price > 0), value_jpy int yen"]
            continue
        lines.append({"symbol": line.symbol, "quantity": str(quantity), "price_jpy": str(price), "value_jpy": value})
    if lines and f"{prefix}.eligible_jpy" not in fields and sum(x["value_jpy"] for x in lines) != eligible_jpy:
        fields[f"{prefix}.lines"] = ["the lines' values must add up to eligible_jpy"]
    return lines


def _entitlement_row(fund: IncidentFund, item: EntitlementInput, index: int, fields: dict) -> Entitlement:
    prefix = f"entitlements[{index}]"
    if not _REF.match(item.claim_ref or ""):
        fields[f"{prefix}.claim_ref"] = ["1-64 letters, digits or -_.:/"]
    if isinstance(item.eligible_jpy, bool) or not isinstance(item.eligible_jpy, int) or item.eligible_jpy < 0:
        fields[f"{prefix}.eligible_jpy"] = ["a whole number of yen, 0 or more"]
    if not item.customer_account_id or len(item.customer_account_id) > 64:
        fields[f"{prefix}.customer_account_id"] = ["1-64 characters"]
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
def entitlements_register(*, actor: Any, incident_code: str, entitlements: list[EntitlementInput]) -> list[Entitlement]:
    """Register what approved claims are owed; runs inside the caller's transaction (the approval).

    Idempotent per claim_ref: the same claim with the same amount again is a
    no-op; with a different amount it is a 409 Conflict (and the caller's
    transaction rolls back). Any invalid entry is a 400 naming it, and
    nothing is registered. After commit the allocation workflow is queued.
    """
    fund = IncidentFund.objects.filter(incident_code=incident_code).first()
    if fund is None:
        raise NotFound("fund_not_open", f"No incident fund is open for {incident_code}.")
    fields: dict[str, list[str]] = {}
    rows = [_entitlement_row(fund, item, i, fields) for i, item in enumerate(entitlements)]
    refs = [row.claim_ref for row in rows]
    if len(set(refs)) != len(refs):
        fields["entitlements"] = ["a claim_ref appears twice"]
    if fields:
        raise _invalid("Some entitlements are invalid; none was registered.", fields)
    existing = {
        e.claim_ref: e
        for start in range(0, len(refs), AUDIT_CHUNK)
        for e in Entitlement.objects.filter(claim_ref__in=refs[start : start + AUDIT_CHUNK])
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
            f"{len(conflicts)} claim(s) are already registered with a different amount or incident: "
            f"{', '.join(conflicts[:5])}",
            extra={"claim_refs": conflicts[:100]},
        )
    created = [stored[ref] for ref in missing]
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
        _queue_allocation(fund, "entitlements registered")
    return [stored[ref] for ref in refs]


@transaction.atomic
def entitlement_eligible_raise(*, actor: Any, claim_ref: str, eligible_jpy: int, lines: list[EntitlementLine]) -> bool:
    """Raise what a claim is owed (an upheld appeal); the next round pays the difference.

    May run inside the caller's transaction.
    Returns False when the entitlement already stands at `eligible_jpy`. A
    lower amount is a 409 Conflict: nothing paid is ever clawed back.
    """
    current = Entitlement.objects.filter(claim_ref=claim_ref).values_list("fund_id", flat=True).first()
    if current is None:
        raise NotFound("not_found", f"No entitlement for claim {claim_ref}.")
    fund = _fund_lock(current)
    entitlement = Entitlement.objects.select_for_update(of=("self",), no_key=True).get(claim_ref=claim_ref)
    require_yen(eligible_jpy, "eligible_jpy")
    if eligible_jpy == entitlement.eligible_jpy:
        return False
    if eligible_jpy < entitlement.eligible_jpy:
        raise Conflict(
            "entitlement_decrease",
            f"Claim {claim_ref} is owed ¥{entitlement.eligible_jpy:,}; lowering it to ¥{eligible_jpy:,} is refused.",
        )
    fields: dict[str, list[str]] = {}
    checked_lines = _lines_checked(lines, eligible_jpy, fields, "entitlement")
    if fields:
        raise _invalid("The raised entitlement is invalid.", fields)
    before = {"eligible_jpy": entitlement.eligible_jpy, "base_jpy": entitlement.base_jpy}
    entitlement.eligible_jpy = eligible_jpy
    entitlement.base_jpy = base_of(eligible_jpy=eligible_jpy, base_amount_jpy=fund.base_amount_jpy)
    entitlement.lines = checked_lines
    entitlement.round = 0  # behind every round: the next chunk brings it up to the current level
    entitlement.save(update_fields=["eligible_jpy", "base_jpy", "lines", "round"])
    event_record(
        actor=actor,
        action="entitlement.raised",
        subject=entitlement,
        data={"before": before, "after": {"eligible_jpy": eligible_jpy, "base_jpy": entitlement.base_jpy}},
    )
    _queue_allocation(fund, "entitlement raised")
    return True


@transaction.atomic(durable=True)
def entitlement_payee_update(*, actor: Any, claim_ref: str, payee: PayeeInput) -> Entitlement:
    """Change where a claimant is paid; unpaid payouts use the new payee."""
    entitlement = Entitlement.objects.select_for_update(of=("self",), no_key=True).filter(claim_ref=claim_ref).first()
    if entitlement is None:
        raise NotFound("not_found", "No such entitlement.")
    if Payout.objects.filter(entitlement=entitlement, status=Payout.Status.SUBMITTED).exists():
        raise Conflict("payout_in_flight", "A payout to the old account is with the bank; wait for its result.")
    return entitlement_payee_apply(actor=actor, entitlement=entitlement, payee=payee)


def entitlement_payee_apply(*, actor: Any, entitlement: Entitlement, payee: PayeeInput) -> Entitlement:
    """Check and store a new payee on a locked entitlement. Caller's transaction, entitlement row locked."""
    fields: dict[str, list[str]] = {}
    symbols = {line["symbol"] for line in entitlement.lines}
    new_payee = _payee_json(payee, symbols, fields, "payee")
    if fields:
        raise _invalid("The payee is invalid.", fields)
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


# --- Insurer recoveries ------------------------------------------------------------------------------


def _recovery_lock(recovery_id: int) -> RecoveryClaim:
    recovery = (
        RecoveryClaim.objects.select_for_update(of=("self",), no_key=True)
        .select_related("policy", "fund")
        .filter(pk=recovery_id)
        .first()
    )
    if recovery is None:
        raise NotFound("not_found", "No such recovery claim.")
    return recovery


def _recovery_step(*, actor: Any, recovery: RecoveryClaim, action: str, changes: dict[str, Any]) -> RecoveryClaim:
    before = {name: getattr(recovery, name) for name in changes}
    for name, value in changes.items():
        setattr(recovery, name, value)
    recovery.save(update_fields=list(changes))
    event_record(actor=actor, action=action, subject=recovery, data={"before": before, "after": changes})
    return recovery


@transaction.atomic(durable=True)
def recovery_notice_record(*, actor: Any, recovery: RecoveryClaim, sent_at: dt.datetime) -> RecoveryClaim:
    """The notice of loss was given to the insurer (due 30 days after detection)."""
    recovery = _recovery_lock(recovery.pk)
    if recovery.status != RecoveryClaim.Status.OPEN:
        raise Conflict("invalid_state", f"Notice cannot be recorded on a {recovery.status} recovery.")
    return _recovery_step(
        actor=actor,
        recovery=recovery,
        action="recovery.notice_given",
        changes={"status": RecoveryClaim.Status.NOTIFIED, "notice_sent_at": sent_at},
    )


@transaction.atomic(durable=True)
def recovery_proof_record(*, actor: Any, recovery: RecoveryClaim, submitted_at: dt.datetime) -> RecoveryClaim:
    """The proof of loss was submitted (due 6 months after detection)."""
    recovery = _recovery_lock(recovery.pk)
    if recovery.status != RecoveryClaim.Status.NOTIFIED:
        raise Conflict("invalid_state", "Proof of loss follows the notice; record the notice first.")
    return _recovery_step(
        actor=actor,
        recovery=recovery,
        action="recovery.proof_submitted",
        changes={"status": RecoveryClaim.Status.PROOF_SUBMITTED, "proof_submitted_at": submitted_at},
    )


@transaction.atomic(durable=True)
def recovery_deny(*, actor: Any, recovery: RecoveryClaim, reason: str) -> RecoveryClaim:
    recovery = _recovery_lock(recovery.pk)
    if recovery.status in (RecoveryClaim.Status.SETTLED, RecoveryClaim.Status.DENIED):
        raise Conflict("invalid_state", f"The recovery is already {recovery.status}.")
    if not reason.strip():
        raise _invalid("Say why the insurer denied the claim.", {"reason": ["required"]})
    return _recovery_step(
        actor=actor,
        recovery=recovery,
        action="recovery.denied",
        changes={"status": RecoveryClaim.Status.DENIED, "note": reason},
    )


@transaction.atomic(durable=True)
def recovery_settle(*, actor: Any, recovery: RecoveryClaim, amount_jpy: int, reference: str) -> RecoveryClaim:
    """The insurer paid `amount_jpy` (remittance `reference`): the money joins the incident's funds, everyone tops up.

    Repeating the same reference with the same amount is a no-op; with
    another amount it is a 409. The total settled cannot exceed the claim.
    """
    if isinstance(amount_jpy, bool) or not isinstance(amount_jpy, int) or amount_jpy <= 0:
        raise _invalid("The settlement is invalid.", {"amount_jpy": ["a positive whole number of yen"]})
    if not _REF.match(reference or ""):
        raise _invalid("The settlement is invalid.", {"reference": ["1-64 letters, digits or -_.:/"]})
    recovery = _recovery_lock(recovery.pk)
    key = f"settlement:{recovery.pk}:{reference}"
    previous = ledger.Transfer.objects.filter(idempotency_key=key).first()
    if previous is not None:
        if previous.amount_jpy != amount_jpy:
            raise Conflict("reference_reused", "This settlement reference was recorded with another amount.")
        return recovery
    if recovery.status == RecoveryClaim.Status.DENIED:
        raise Conflict("invalid_state", "The insurer denied this recovery.")
    if recovery.settled_jpy + amount_jpy > recovery.amount_claimed_jpy:
        raise ApplicationError(
            "over_settlement",
            f"¥{amount_jpy:,} would take the settled total past the ¥{recovery.amount_claimed_jpy:,} claimed.",
        )
    policy, fund = recovery.policy, recovery.fund
    code = fund.incident_code
    ledger.transfers_post(
        transfers=[
            ledger.TransferInput(
                key, policy.insurer_account, policy.account, amount_jpy, "settlement", code, reference
            ),
            ledger.TransferInput(
                f"draw:{recovery.pk}:{reference}",
                policy.account,
                fund.pool_account,
                amount_jpy,
                "draw",
                code,
                reference,
            ),
        ]
    )
    settled = recovery.settled_jpy + amount_jpy
    changes: dict[str, Any] = {"settled_jpy": settled}
    if settled >= recovery.amount_claimed_jpy:
        changes.update(status=RecoveryClaim.Status.SETTLED, settled_at=timezone.now())
    _recovery_step(actor=actor, recovery=recovery, action="recovery.settled", changes=changes)
    _queue_allocation(fund, "insurer settlement")
    return recovery


def recoveries_follow_up(*, now: dt.datetime | None = None) -> list[dict]:
    """Warn (log and audit, once a day each) about notice and proof deadlines within RECOVERY_WARN_DAYS or past."""
    now = now or timezone.now()
    horizon = now + dt.timedelta(days=settings.RECOVERY_WARN_DAYS)
    warnings = []
    due = RecoveryClaim.objects.filter(
        Q(status=RecoveryClaim.Status.OPEN, notice_due_at__lte=horizon)
        | Q(status=RecoveryClaim.Status.NOTIFIED, proof_due_at__lte=horizon)
    ).filter(Q(last_warned_at__isnull=True) | Q(last_warned_at__lte=now - dt.timedelta(hours=23)))
    for recovery_id in due.values_list("id", flat=True):
        with transaction.atomic(durable=True):
            recovery = _recovery_lock(recovery_id)
            step = "notice" if recovery.status == RecoveryClaim.Status.OPEN else "proof of loss"
            deadline = recovery.notice_due_at if step == "notice" else recovery.proof_due_at
            warning = {
                "recovery_id": recovery.pk,
                "incident_code": recovery.fund.incident_code,
                "policy_number": recovery.policy.policy_number,
                "step": step,
                "due_at": deadline,
                "overdue": deadline < now,
            }
            _recovery_step(
                actor=Actor.system("reserves.recoveries_follow_up"),
                recovery=recovery,
                action="recovery.deadline_warning",
                changes={"last_warned_at": now},
            )
            warnings.append(warning)
    return warnings


# --- Staff actions on payouts -----------------------------------------------------------------------


@transaction.atomic(durable=True)
def payouts_retry(*, actor: Any, payout_ids: list[int], reason: str = "") -> list[Payout]:
    """Staff retry of failed payouts: back to pending with a fresh attempt count, sent after commit."""
    from reserves.tasks import payouts_send

    payouts = list(
        Payout.objects.select_for_update(of=("self",), no_key=True)
        .filter(pk__in=payout_ids, status=Payout.Status.FAILED)
        .order_by("id")
    )
    if not payouts:
        raise Conflict("nothing_to_retry", "None of these payouts has failed.")
    now = timezone.now()
    for payout in payouts:
        payout.status, payout.attempts, payout.next_attempt_at, payout.locked_until = "pending", 0, now, None
        payout.updated_at = now
    rows_update(
        model=Payout,
        columns={
            "id": [p.pk for p in payouts],
            "status": ["pending"] * len(payouts),
            "attempts": [0] * len(payouts),
            "next_attempt_at": [now] * len(payouts),
            "locked_until": [None] * len(payouts),
            "updated_at": [now] * len(payouts),
        },
    )
    events_record(
        actor=actor,
        events=[
            EventInput(
                "payout.retry",
                "reserves.payout",
                str(p.pk),
                {
                    "claim_ref": p.claim_ref,
                    "before": {"status": "failed"},
                    "after": {"status": "pending"},
                    "reason": reason,
                },
            )
            for p in payouts
        ],
    )
    ids = [p.pk for p in payouts]
    transaction.on_commit(partial(payouts_send.delay, ids))
    return payouts
