"""Writes for incidents, claims, review and invitations. Each public service is one durable transaction."""

import datetime as dt
import hashlib
import json
import os
import re
import secrets
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Context, Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import EventInput, event_record, events_record
from claims import evidence as evidence_files
from claims import payout_guard
from claims.evidence import sniff
from claims.holdbacks import holdbacks_push, holdbacks_refresh
from claims.models import (
    QUANTITY_DECIMAL_PLACES,
    ActivationToken,
    Claim,
    ClaimAction,
    ClaimAppeal,
    ClaimApproval,
    ClaimBatch,
    ClaimLine,
    ClaimTimelineEntry,
    Customer,
    Evidence,
    Holding,
    Incident,
    IncidentAsset,
    Invitation,
    PayoutAddress,
    PayoutChoice,
)
from claims.signals import claims_approved
from claims.snapshot import SnapshotImportResult, SnapshotRejected, snapshot_import  # noqa: F401 - re-exported
from claims.zengin import ACCOUNT_NUMBER, bank_branch, holder_name_normalise
from config.errors import ApplicationError, Conflict, InvalidInput, NotFound
from config.roles import Role, has_role
from reserves import selectors as reserve_selectors
from reserves.money import jpy_value, require_yen

INCIDENT_TRANSITIONS: dict[str, frozenset[str]] = {
    Incident.Status.DRAFT: frozenset({Incident.Status.OPEN}),
    Incident.Status.OPEN: frozenset({Incident.Status.CLOSED}),
    Incident.Status.CLOSED: frozenset({Incident.Status.SETTLED}),
    Incident.Status.SETTLED: frozenset(),
}


@dataclass(frozen=True)
class AssetInput:
    symbol: str
    quantity_lost: Decimal
    wallet_type: str
    reference_price_jpy: Decimal | None = None
    price_source: str = ""
    price_method: str = ""
    price_window_start: dt.datetime | None = None
    price_window_end: dt.datetime | None = None


def _asset_state(asset: IncidentAsset) -> dict[str, Any]:
    return {
        "symbol": asset.symbol,
        "quantity_lost": asset.quantity_lost,
        "wallet_type": asset.wallet_type,
        "reference_price_jpy": asset.reference_price_jpy,
        "price_source": asset.price_source,
        "price_method": asset.price_method,
        "price_window_start": asset.price_window_start,
        "price_window_end": asset.price_window_end,
    }


def _incident_state(incident: Incident) -> dict[str, Any]:
    return {
        "code": incident.code,
        "title": incident.title,
        "status": incident.status,
        "occurred_at": incident.occurred_at,
        "detected_at": incident.detected_at,
        "snapshot_base_time": incident.snapshot_base_time,
        "claim_opens_at": incident.claim_opens_at,
        "claim_closes_at": incident.claim_closes_at,
        "allows_in_kind": incident.allows_in_kind,
    }


def _check_times(
    *, occurred_at: dt.datetime, detected_at: dt.datetime, claim_opens_at: dt.datetime, claim_closes_at: dt.datetime
) -> None:
    fields: dict[str, list[str]] = {}
    if detected_at < occurred_at:
        fields["detected_at"] = ["must not be before occurred_at"]
    if claim_closes_at <= claim_opens_at:
        fields["claim_closes_at"] = ["must be after claim_opens_at"]
    if fields:
        raise InvalidInput("invalid", "The incident's times are inconsistent.", extra={"fields": fields})


def _check_asset(asset: AssetInput) -> None:
    fields: dict[str, list[str]] = {}
    if not asset.symbol or len(asset.symbol) > 16 or not asset.symbol.replace("-", "").isalnum():
        fields["symbol"] = ["must be 1-16 letters or digits"]
    if not isinstance(asset.quantity_lost, Decimal) or asset.quantity_lost < 0:
        fields["quantity_lost"] = ["must be a non-negative decimal"]
    if asset.wallet_type not in IncidentAsset.WalletType.values:
        fields["wallet_type"] = ["must be hot or cold"]
    if asset.reference_price_jpy is not None:
        if not isinstance(asset.reference_price_jpy, Decimal) or asset.reference_price_jpy <= 0:
            fields["reference_price_jpy"] = ["must be a positive decimal"]
        if not asset.price_source.strip():
            fields["price_source"] = ["is required with a reference price"]
    if (
        asset.price_window_start is not None
        and asset.price_window_end is not None
        and asset.price_window_end < asset.price_window_start
    ):
        fields["price_window_end"] = ["must not be before price_window_start"]
    if fields:
        raise InvalidInput("invalid", f"Asset {asset.symbol!r} is invalid.", extra={"fields": fields})


@transaction.atomic(durable=True)
def incident_declare(
    *,
    actor: Any,
    code: str,
    title: str,
    description: str = "",
    occurred_at: dt.datetime,
    detected_at: dt.datetime,
    snapshot_base_time: dt.datetime,
    claim_opens_at: dt.datetime,
    claim_closes_at: dt.datetime,
    assets: list[AssetInput],
    allows_in_kind: bool = False,
) -> Incident:
    """Declare an incident (status draft) with its lost assets and, optionally, their prices."""
    _check_times(
        occurred_at=occurred_at, detected_at=detected_at, claim_opens_at=claim_opens_at, claim_closes_at=claim_closes_at
    )
    symbols = [a.symbol for a in assets]
    if len(set(symbols)) != len(symbols):
        raise InvalidInput("invalid", "An asset is listed twice.", extra={"fields": {"assets": ["duplicate symbol"]}})
    for asset in assets:
        _check_asset(asset)
    if Incident.objects.filter(code=code).exists():
        raise Conflict("incident_exists", f"An incident with code {code!r} already exists.")
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                code=code,
                title=title,
                description=description,
                occurred_at=occurred_at,
                detected_at=detected_at,
                snapshot_base_time=snapshot_base_time,
                claim_opens_at=claim_opens_at,
                claim_closes_at=claim_closes_at,
                allows_in_kind=allows_in_kind,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError as exc:  # a concurrent declaration took the code
        raise Conflict("incident_exists", f"An incident with code {code!r} already exists.") from exc
    created = IncidentAsset.objects.bulk_create([IncidentAsset(incident=incident, **a.__dict__) for a in assets])
    event_record(
        actor=actor,
        action="incident.declared",
        subject=incident,
        data={"after": {**_incident_state(incident), "assets": [_asset_state(a) for a in created]}},
    )
    return incident


@transaction.atomic(durable=True)
def incident_asset_add(*, actor: Any, incident: Incident, asset: AssetInput) -> IncidentAsset:
    """Add a lost asset to a draft incident that has no snapshot yet."""
    incident = Incident.objects.select_for_update(of=("self",), no_key=True).get(pk=incident.pk)
    if incident.status != Incident.Status.DRAFT or hasattr(incident, "snapshot"):
        raise ApplicationError("incident_assets_fixed", "Assets can only be added to a draft without a snapshot.")
    _check_asset(asset)
    if incident.assets.filter(symbol=asset.symbol).exists():
        raise Conflict("asset_exists", f"{incident.code} already has asset {asset.symbol}.")
    created = IncidentAsset.objects.create(incident=incident, **asset.__dict__)
    event_record(actor=actor, action="incident.asset_added", subject=incident, data={"after": _asset_state(created)})
    return created


@transaction.atomic(durable=True)
def incident_asset_price_set(
    *,
    actor: Any,
    asset: IncidentAsset,
    reference_price_jpy: Decimal,
    price_source: str,
    price_method: str,
    price_window_start: dt.datetime | None = None,
    price_window_end: dt.datetime | None = None,
    reason: str = "",
) -> IncidentAsset:
    """Set an asset's JPY reference price with its source and method.

    Refused once any claim of the incident was approved (prices_locked_at set);
    on PostgreSQL a trigger refuses it as well.
    """
    incident = Incident.objects.select_for_update(of=("self",), no_key=True).get(pk=asset.incident_id)
    if incident.prices_locked_at is not None:
        raise ApplicationError(
            "prices_locked",
            f"Reference prices of {incident.code} are fixed since a claim was approved "
            f"({incident.prices_locked_at:%Y-%m-%d %H:%M %Z}).",
        )
    locked = IncidentAsset.objects.select_for_update(no_key=True).get(pk=asset.pk)
    _check_asset(
        AssetInput(
            symbol=locked.symbol,
            quantity_lost=locked.quantity_lost,
            wallet_type=locked.wallet_type,
            reference_price_jpy=reference_price_jpy,
            price_source=price_source,
            price_method=price_method,
            price_window_start=price_window_start,
            price_window_end=price_window_end,
        )
    )
    before = _asset_state(locked)
    locked.reference_price_jpy = reference_price_jpy
    locked.price_source = price_source
    locked.price_method = price_method
    locked.price_window_start = price_window_start
    locked.price_window_end = price_window_end
    locked.save()
    _asset_line_values_refresh(locked)
    event_record(
        actor=actor,
        action="incident.price_set",
        subject=incident,
        data={"before": before, "after": _asset_state(locked), "reason": reason},
    )
    return locked


def _asset_line_values_refresh(asset: IncidentAsset) -> None:
    """Revalue the claim lines of an asset whose price changed, and their claims' amounts. Caller's transaction.

    Prices change only before the first approval, so no approved claim is touched.
    """
    ids: list[int] = []
    values: list[int] = []
    rows = ClaimLine.objects.filter(asset=asset).order_by("pk").values_list("pk", "approved_quantity", "value_jpy")
    for pk, quantity, stored in rows.iterator(chunk_size=5000):
        value = jpy_value(quantity, asset.reference_price_jpy)
        if value != stored:
            ids.append(pk)
            values.append(value)
    if not ids:
        return
    _bulk_write("claims_claimline", ["value_jpy"], ids, values)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE claims_claim SET amount_jpy = (SELECT COALESCE(SUM(l.value_jpy), 0) FROM claims_claimline l "
            "WHERE l.claim_id = claims_claim.id) "
            "WHERE id IN (SELECT claim_id FROM claims_claimline WHERE asset_id = %s)",
            [asset.pk],
        )
    if asset.incident.status != Incident.Status.DRAFT:
        holdbacks_refresh(incident=asset.incident)


def incident_prices_lock(*, actor: Any, incident: Incident) -> bool:
    """Freeze the incident's reference prices (at the first approval). Runs in the caller's transaction.

    Returns True when this call locked them. Precondition: the caller holds the incident row lock.
    """
    if incident.prices_locked_at is not None:
        return False
    incident.prices_locked_at = timezone.now()
    Incident.objects.filter(pk=incident.pk).update(prices_locked_at=incident.prices_locked_at)
    event_record(
        actor=actor,
        action="incident.prices_locked",
        subject=incident,
        data={"after": {"prices_locked_at": incident.prices_locked_at}},
    )
    return True


def _check_can_open(incident: Incident) -> None:
    if not hasattr(incident, "snapshot"):
        raise ApplicationError("snapshot_missing", "Import the balance snapshot before opening the incident.")
    unpriced = list(incident.assets.filter(reference_price_jpy__isnull=True).values_list("symbol", flat=True))
    if unpriced:
        raise ApplicationError("prices_missing", f"Set reference prices first for: {', '.join(unpriced)}.")


@transaction.atomic(durable=True)
def incident_transition(*, actor: Any, incident: Incident, to_status: str, reason: str = "") -> Incident:
    """Move an incident along draft → open → closed → settled; any other move is refused (422)."""
    incident = Incident.objects.select_for_update(of=("self",), no_key=True).get(pk=incident.pk)
    if to_status not in INCIDENT_TRANSITIONS:
        raise InvalidInput("invalid", f"Unknown status {to_status!r}.", extra={"fields": {"to": ["unknown status"]}})
    if to_status not in INCIDENT_TRANSITIONS[incident.status]:
        raise ApplicationError(
            "invalid_transition", f"Incident {incident.code} cannot go from {incident.status} to {to_status}."
        )
    if to_status == Incident.Status.OPEN:
        _check_can_open(incident)
        from claims.payouts import fund_open_for

        fund_open_for(incident=incident)  # staff can set the base amount and expected loss before approvals
    before = incident.status
    incident.status = to_status
    incident.save(update_fields=["status", "updated_at"])
    event_record(
        actor=actor,
        action=f"incident.{to_status}",
        subject=incident,
        data={"before": {"status": before}, "after": {"status": to_status}, "reason": reason},
    )
    if to_status == Incident.Status.OPEN:
        from claims.tasks import invitations_dispatch

        # After commit: the task reads the committed incident and emails every affected customer once.
        transaction.on_commit(partial(invitations_dispatch.delay, incident.pk))
    if to_status == Incident.Status.SETTLED:
        from reserves.tasks import liabilities_publish

        # Settled: the proof of liabilities over every eligible claim is signed and published.
        transaction.on_commit(partial(liabilities_publish.delay, incident.code), robust=True)
    return incident


# ---------------------------------------------------------------------------------------------
# Claims: filing, evidence, payout choice, answers and appeals (customers)
# ---------------------------------------------------------------------------------------------

REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
ACTIVE_REVIEW = (Claim.Status.SUBMITTED, Claim.Status.UNDER_REVIEW, Claim.Status.INFO_REQUESTED, Claim.Status.APPEALED)
# Decided with an approval: the payout choice is locked, and a cut can be appealed from any of these.
PAYOUT_LOCKED = (Claim.Status.APPROVED, Claim.Status.PARTLY_PAID, Claim.Status.PAID, Claim.Status.CLOSED_NOTHING_DUE)
# Integer digits a quantity may have (numeric(38,18)).
QUANTITY_MAX_INTEGER_DIGITS = 20
_QUANTUM = Decimal(1).scaleb(-QUANTITY_DECIMAL_PLACES)
_WIDE = Context(prec=100)
ADDRESS_PATTERN = re.compile(r"^[A-Za-z0-9:_\-.]{20,128}$")


@dataclass(frozen=True)
class ClaimLineInput:
    """A customer's claimed quantity for one asset; `reason` is required when it differs from the snapshot."""

    symbol: str
    claimed_quantity: Decimal
    reason: str = ""


@dataclass(frozen=True)
class PayoutInput:
    method: str
    bank_code: str = ""
    branch_code: str = ""
    account_type: str = ""
    account_number: str = ""
    holder_name: str = ""
    addresses: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClaimFiled:
    claim: Claim
    created: bool


def _new_ref() -> str:
    """C-XXXX-XXXX: short enough to read over the phone, 32^8 values."""
    while True:
        body = "".join(secrets.choice(REF_ALPHABET) for _ in range(8))
        ref = f"C-{body[:4]}-{body[4:]}"
        if not Claim.objects.filter(ref=ref).exists():
            return ref


def _quantity_errors(value: object, *, lost: Decimal | None) -> str | None:
    """Why a claimed or approved quantity is unacceptable, or None."""
    if isinstance(value, bool) or not isinstance(value, Decimal) or not value.is_finite():
        return _("must be a decimal number")
    if value < 0:
        return _("must not be negative")
    if value >= Decimal(10) ** QUANTITY_MAX_INTEGER_DIGITS:
        return _("is too large")
    if value != value.quantize(_QUANTUM, context=_WIDE):
        return _("has more than %(places)s decimal places") % {"places": QUANTITY_DECIMAL_PLACES}
    if lost is not None and value > lost:
        return _("is more than the incident lost in all (%(lost)s)") % {"lost": f"{lost.normalize():f}"}
    return None


def _canonical_quantity(value: Decimal) -> str:
    return f"{value.normalize():f}" if value else "0"


def _fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _lines_resolve(
    *, customer: Customer, incident: Incident, lines: list[ClaimLineInput] | None
) -> list[dict[str, Any]]:
    """Every snapshot holding (accepted unless a line overrides it) plus disputed extra assets.

    Raises InvalidInput naming the field (lines[i].asset, lines[i].claimed_quantity, lines[i].reason).
    """
    assets = {a.symbol: a for a in incident.assets.all()}
    holdings = {h.asset_id: h.quantity for h in Holding.objects.filter(customer=customer, asset__incident=incident)}
    resolved: dict[str, dict[str, Any]] = {
        a.symbol: {"asset": a, "snapshot": holdings[a.id], "claimed": holdings[a.id], "reason": ""}
        for a in assets.values()
        if a.id in holdings
    }
    fields: dict[str, list[str]] = {}
    seen: set[str] = set()
    for i, line in enumerate(lines or []):
        asset = assets.get(line.symbol) if isinstance(line.symbol, str) else None
        if asset is None:
            fields[f"lines[{i}].asset"] = [
                _("unknown asset %(symbol)r for incident %(code)s") % {"symbol": line.symbol, "code": incident.code}
            ]
            continue
        if asset.symbol in seen:
            fields[f"lines[{i}].asset"] = [_("%(symbol)s is listed twice") % {"symbol": asset.symbol}]
            continue
        seen.add(asset.symbol)
        problem = _quantity_errors(line.claimed_quantity, lost=asset.quantity_lost)
        if problem:
            fields[f"lines[{i}].claimed_quantity"] = [problem]
            continue
        snapshot = holdings.get(asset.id, Decimal(0))
        reason = (line.reason or "").strip()
        if line.claimed_quantity != snapshot and not reason:
            fields[f"lines[{i}].reason"] = [_("a reason is required when the quantity differs from the snapshot")]
            continue
        resolved[asset.symbol] = {
            "asset": asset,
            "snapshot": snapshot,
            "claimed": line.claimed_quantity,
            "reason": reason if line.claimed_quantity != snapshot else "",
        }
    if fields:
        raise InvalidInput("invalid", f"Invalid input: {', '.join(fields)}.", extra={"fields": fields})
    if not resolved:
        raise InvalidInput(
            "invalid", "Nothing to claim: no holdings and no lines.", extra={"fields": {"lines": ["no lines"]}}
        )
    return [resolved[symbol] for symbol in sorted(resolved)]


def _payout_resolve(*, incident: Incident, payout: PayoutInput) -> dict[str, Any]:
    """The checked, normalised payout choice; raises InvalidInput naming payout.<field>."""
    from claims.elections import election_resolve

    elected = election_resolve(incident=incident, payout=payout)
    if elected is not None:
        return elected
    fields: dict[str, str] = {}
    if payout.method == PayoutChoice.Method.BANK:
        found, errors = bank_branch(payout.bank_code, payout.branch_code)
        fields.update(errors)
        if payout.account_type not in PayoutChoice.AccountType.values:
            fields["account_type"] = _("must be 1 (ordinary), 2 (current) or 4 (savings)")
        if not ACCOUNT_NUMBER.match(payout.account_number or ""):
            fields["account_number"] = _("must be 7 digits")
        holder = holder_name_normalise(payout.holder_name)
        if holder is None:
            fields["holder_name"] = _("must be the account holder's name in katakana (at most 30 characters)")
        if fields:
            raise InvalidInput(
                "invalid",
                f"Invalid payout account: {', '.join(fields)}.",
                extra={"fields": {f"payout.{k}": [v] for k, v in fields.items()}},
            )
        return {
            "method": payout.method,
            "bank_code": found.bank_code,
            "bank_name": found.bank_name,
            "branch_code": found.branch_code,
            "branch_name": found.branch_name,
            "account_type": payout.account_type,
            "account_number": payout.account_number,
            "holder_name_kana": holder,
            "addresses": {},
        }
    if payout.method == PayoutChoice.Method.IN_KIND:
        if not incident.allows_in_kind:
            raise ApplicationError(
                "in_kind_not_allowed", _("Incident %(code)s pays in yen only.") % {"code": incident.code}
            )
        assets = {a.symbol: a for a in incident.assets.all()}
        addresses = {}
        for symbol, address in (payout.addresses or {}).items():
            if symbol not in assets:
                fields[f"addresses.{symbol}"] = _("unknown asset %(symbol)r") % {"symbol": symbol}
            elif not isinstance(address, str) or not ADDRESS_PATTERN.match(address.strip()):
                fields[f"addresses.{symbol}"] = _("must be 20-128 letters, digits or : _ - .")
            elif (problem := _address_problem(symbol, address)) is not None:
                fields[f"addresses.{symbol}"] = problem
            else:
                addresses[symbol] = address.strip()
        if not addresses and not fields:
            fields["addresses"] = _("give an address for each asset to be paid in kind")
        if fields:
            raise InvalidInput(
                "invalid",
                f"Invalid payout addresses: {', '.join(fields)}.",
                extra={"fields": {f"payout.{k}": [v] for k, v in fields.items()}},
            )
        return {"method": payout.method, "addresses": addresses}
    raise InvalidInput(
        "invalid", "Choose how to be paid.", extra={"fields": {"payout.method": ["must be bank or in_kind"]}}
    )


def _address_problem(symbol: str, address: str) -> str | None:
    """The per-asset address rule (Bitcoin checksums, EIP-55, ...), as a message; None when valid."""
    from reserves.addresses import AddressError, address_check

    try:
        address_check(symbol=symbol, address=address)
    except AddressError as exc:
        return str(exc)
    return None


def _payout_write(*, claim: Claim, resolved: dict[str, Any]) -> PayoutChoice:
    """Create or replace the claim's payout choice. Caller holds the claim lock, inside its transaction."""
    addresses = resolved.get("addresses", {})
    values = {k: v for k, v in resolved.items() if k not in {"method", "addresses"}}
    blank = {
        "bank_code": "",
        "bank_name": "",
        "branch_code": "",
        "branch_name": "",
        "account_type": "",
        "account_number": "",
        "holder_name_kana": "",
    }
    values.setdefault("source", PayoutChoice.Source.CUSTOMER)
    choice, _ = PayoutChoice.objects.update_or_create(
        claim=claim, defaults={**blank, **values, "method": resolved["method"]}
    )
    choice.addresses.all().delete()
    if addresses:
        assets = {a.symbol: a for a in claim.incident.assets.all()}
        PayoutAddress.objects.bulk_create(
            [PayoutAddress(payout=choice, asset=assets[s], address=a) for s, a in sorted(addresses.items())]
        )
    return choice


def payout_masked(choice: PayoutChoice | None) -> dict[str, Any]:
    """The payout choice as pages, the API, emails and audit data may show it (account number masked)."""
    if choice is None:
        return {}
    if choice.method == PayoutChoice.Method.BANK:
        return {
            "method": choice.method,
            "bank_code": choice.bank_code,
            "bank_name": choice.bank_name,
            "branch_code": choice.branch_code,
            "branch_name": choice.branch_name,
            "account_type": choice.account_type,
            "account_number": choice.account_number_masked,
            "holder_name_kana": choice.holder_name_kana,
        }
    return {"method": choice.method, "addresses": {a.asset.symbol: a.address for a in choice.addresses.all()}}


def _timeline_add(claim: Claim, status: str, note: str = "") -> None:
    """Append a customer-visible entry. Caller's transaction."""
    ClaimTimelineEntry.objects.create(claim=claim, status=status, note=note)


def _notify(claim: Claim, kind: str, note: str = "") -> None:
    """Email the customer about their claim after the transaction commits."""
    from claims.tasks import claim_notify

    transaction.on_commit(partial(claim_notify.delay, claim.pk, kind, note))


def _notify_many(claim_ids: list[int], kind: str) -> None:
    """Email many customers after commit, one task per 1,000 claims."""
    from claims.tasks import claims_notify_many

    for start in range(0, len(claim_ids), 1000):
        transaction.on_commit(partial(claims_notify_many.delay, claim_ids[start : start + 1000], kind))


def _lines_state(claim: Claim) -> list[dict[str, Any]]:
    return [
        {
            "asset": line.asset.symbol,
            "snapshot_quantity": line.snapshot_quantity,
            "claimed_quantity": line.claimed_quantity,
            "approved_quantity": line.approved_quantity,
        }
        for line in claim.lines.select_related("asset").order_by("asset__symbol")
    ]


def _amount_refresh(claim: Claim) -> None:
    """Recompute the lines' values and the claim's amount and flags. Caller holds the claim lock."""
    lines = list(claim.lines.select_related("asset"))
    for line in lines:
        line.value_jpy = jpy_value(line.approved_quantity, line.asset.reference_price_jpy)
    ClaimLine.objects.bulk_update(lines, ["value_jpy"])
    claim.amount_jpy = sum(line.value_jpy for line in lines)
    claim.disputed = any(line.is_disputed for line in lines)
    claim.matches_snapshot = all(line.approved_quantity == line.snapshot_quantity for line in lines)


def _check_window(incident: Incident) -> None:
    now = timezone.now()
    if incident.status != Incident.Status.OPEN or not (incident.claim_opens_at <= now < incident.claim_closes_at):
        opens = timezone.localtime(incident.claim_opens_at)
        closes = timezone.localtime(incident.claim_closes_at)
        raise ApplicationError(
            "outside_claim_window",
            _("Claims for %(code)s can be filed from %(opens)s to %(closes)s (%(zone)s); the incident is %(status)s.")
            % {
                "code": incident.code,
                "opens": f"{opens:%Y-%m-%d %H:%M}",
                "closes": f"{closes:%Y-%m-%d %H:%M}",
                "zone": f"{opens:%Z}",
                "status": incident.status,
            },
            extra={"claim_opens_at": incident.claim_opens_at, "claim_closes_at": incident.claim_closes_at},
        )


@transaction.atomic(durable=True)
def claim_file(
    *,
    customer: Customer,
    incident: Incident,
    lines: list[ClaimLineInput] | None,
    payout: PayoutInput,
    idempotency_key: str,
    language: str = "ja",
    evidence: Sequence[Any] = (),
) -> ClaimFiled:
    """File a claim: accept the snapshot (no lines) or dispute lines; choose the payout; attach evidence.

    The same idempotency key with the same request returns the first claim
    (created False); with a different request it is 409. One active claim per
    customer and incident (409). Outside the window 422. All or nothing.
    """
    if not idempotency_key or len(idempotency_key) > 128:
        raise InvalidInput(
            "invalid",
            "An Idempotency-Key of 1-128 characters is required.",
            extra={"fields": {"Idempotency-Key": ["required, at most 128 characters"]}},
        )
    # One customer's filings queue behind each other: the checks below cannot race.
    customer = Customer.objects.select_for_update(of=("self",), no_key=True).get(pk=customer.pk)
    fingerprint = _fingerprint(
        {
            "incident": incident.code,
            "lines": sorted(
                [str(line.symbol), _canonical_quantity(line.claimed_quantity), (line.reason or "").strip()]
                if isinstance(line.claimed_quantity, Decimal)
                else [str(line.symbol), repr(line.claimed_quantity), line.reason]
                for line in lines or []
            ),
            "payout": {k: v for k, v in payout.__dict__.items() if v},
        }
    )
    existing = Claim.objects.filter(customer=customer, idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.request_fingerprint != fingerprint:
            raise Conflict(
                "idempotency_key_reused",
                _("This Idempotency-Key was used for a different request; use a new key for a new claim."),
            )
        return ClaimFiled(existing, created=False)
    _check_window(incident)
    active = Claim.objects.filter(customer=customer, incident=incident).exclude(status=Claim.Status.REJECTED).first()
    if active is not None:
        raise Conflict(
            "claim_exists",
            _("You already have claim %(ref)s for %(code)s.") % {"ref": active.ref, "code": incident.code},
            extra={"ref": active.ref},
        )
    resolved = _lines_resolve(customer=customer, incident=incident, lines=lines)
    payout_values = _payout_resolve(incident=incident, payout=payout)
    claim = Claim.objects.create(
        ref=_new_ref(),
        incident=incident,
        customer=customer,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        language=language if language in {"ja", "en"} else "ja",
    )
    ClaimLine.objects.bulk_create(
        [
            ClaimLine(
                claim=claim,
                asset=r["asset"],
                snapshot_quantity=r["snapshot"],
                claimed_quantity=r["claimed"],
                approved_quantity=r["claimed"],
                reason=r["reason"],
            )
            for r in resolved
        ]
    )
    _amount_refresh(claim)
    claim.save(update_fields=["amount_jpy", "disputed", "matches_snapshot"])
    holdbacks_push(claims=[claim])
    choice = _payout_write(claim=claim, resolved=payout_values)
    payout_guard.choice_guard(choice=choice, customer=customer, changed=False)
    with _files_removed_on_error() as written:
        stored = _evidence_store(claim=claim, files=evidence, cleanup=written)
        _claim_filed_record(claim=claim, customer=customer, choice=choice, stored=stored, key=idempotency_key)
    _notify(claim, "filed")
    return ClaimFiled(claim, created=True)


def _claim_filed_record(
    *, claim: Claim, customer: Customer, choice: PayoutChoice, stored: list[Evidence], key: str
) -> None:
    """Timeline and audit event of a new claim. Caller's transaction."""
    _timeline_add(claim, Claim.Status.SUBMITTED)
    event_record(
        actor=customer.user,
        action="claim.filed",
        subject=claim,
        data={
            "after": {
                "ref": claim.ref,
                "incident": claim.incident.code,
                "customer": customer.account_id,
                "status": claim.status,
                "disputed": claim.disputed,
                "amount_jpy": claim.amount_jpy,
                "lines": _lines_state(claim),
                "payout": payout_masked(choice),
                "evidence": [e.sha256 for e in stored],
            },
            "idempotency_key": key,
        },
    )


def _evidence_store(*, claim: Claim, files: Sequence[Any], cleanup: list[str]) -> list[Evidence]:
    """Check and store uploads for a claim. Caller holds the claim lock, inside its transaction.

    A file that is not a PDF, PNG or JPEG by content, larger than the limit, or
    one too many is refused with InvalidInput; files already written by this call
    are removed again if anything fails, and their paths are added to `cleanup`
    so the caller removes them if its transaction fails later.
    """
    files = list(files)
    if not files:
        return []
    used = set(claim.evidence.values_list("slot", flat=True))
    free = [slot for slot in range(1, Evidence.MAX_PER_CLAIM + 1) if slot not in used]
    if len(files) > len(free):
        raise InvalidInput(
            "too_many_files",
            _("A claim holds at most %(max)s files; %(used)s are attached already.")
            % {"max": Evidence.MAX_PER_CLAIM, "used": len(used)},
            extra={"fields": {"files": [f"at most {Evidence.MAX_PER_CLAIM} files per claim"]}},
        )
    max_bytes = settings.EVIDENCE_MAX_BYTES
    written: list[str] = []
    created: list[Evidence] = []
    try:
        for slot, upload in zip(free, files, strict=False):
            name = os.path.basename(getattr(upload, "name", "") or "file")[:255]
            if getattr(upload, "size", 0) and upload.size > max_bytes:
                raise InvalidInput(
                    "file_too_large",
                    _("%(name)s is larger than %(mb)s MB.") % {"name": name, "mb": max_bytes // (1024 * 1024)},
                    extra={"fields": {"files": [f"{name}: larger than 10 MB"]}},
                )
            upload.seek(0)
            kind = sniff(upload.read(16))
            if kind is None:
                raise InvalidInput(
                    "file_type",
                    _("%(name)s is not a PDF, PNG or JPEG file.") % {"name": name},
                    extra={"fields": {"files": [f"{name}: only PDF, PNG or JPEG"]}},
                )
            try:
                path, size, digest = evidence_files.store(
                    upload, claim_id=claim.pk, extension=kind[1], max_bytes=max_bytes
                )
            except ValueError as exc:
                raise InvalidInput(
                    "file_too_large",
                    _("%(name)s is larger than %(mb)s MB.") % {"name": name, "mb": max_bytes // (1024 * 1024)},
                    extra={"fields": {"files": [f"{name}: larger than 10 MB"]}},
                ) from exc
            written.append(path)
            created.append(
                Evidence.objects.create(
                    claim=claim,
                    slot=slot,
                    file_name=name,
                    content_type=kind[0],
                    size=size,
                    sha256=digest,
                    storage_path=path,
                )
            )
    except BaseException:
        for path in written:
            evidence_files.remove(path)
        raise
    cleanup.extend(written)
    return created


@contextmanager
def _files_removed_on_error() -> Iterator[list[str]]:
    """Collect the evidence paths a service writes; delete them if the service fails (its transaction rolls back)."""
    written: list[str] = []
    try:
        yield written
    except BaseException:
        for path in written:
            evidence_files.remove(path)
        raise


def staff_login_record(sender: Any = None, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    """Signal receiver (user_logged_in): a staff member's sign-in is part of the trail."""
    from config.roles import is_staff_member

    if user is not None and is_staff_member(user):
        with transaction.atomic():
            event_record(actor=user, action="staff.logged_in", subject=("auth.user", user.pk), data={})


@transaction.atomic(durable=True)
def evidence_access_record(*, actor: Any, evidence: Evidence) -> None:
    """Staff opened a customer's file: who read what is part of the trail."""
    event_record(
        actor=actor,
        action="claim.evidence_viewed",
        subject=("claims.claim", evidence.claim_id),
        data={"after": {"file_name": evidence.file_name, "sha256": evidence.sha256}},
    )


def _claim_lock_for_customer(*, customer: Customer, claim: Claim) -> Claim:
    locked = (
        Claim.objects.select_for_update(of=("self",), no_key=True)
        .select_related("incident")
        .filter(pk=claim.pk)
        .first()
    )
    if locked is None or locked.customer_id != customer.pk:
        raise NotFound("not_found", "No such claim.")
    return locked


@transaction.atomic(durable=True)
def claim_evidence_add(*, customer: Customer, claim: Claim, files: Sequence[Any]) -> list[Evidence]:
    """Attach evidence while the claim is still being reviewed (not after a decision)."""
    claim = _claim_lock_for_customer(customer=customer, claim=claim)
    if claim.status not in ACTIVE_REVIEW:
        raise ApplicationError("claim_decided", f"Claim {claim.ref} is {claim.status}; evidence can no longer change.")
    if not files:
        raise InvalidInput("invalid", _("Choose at least one file."), extra={"fields": {"files": ["required"]}})
    with _files_removed_on_error() as written:
        stored = _evidence_store(claim=claim, files=files, cleanup=written)
        event_record(
            actor=customer.user,
            action="claim.evidence_added",
            subject=claim,
            data={"after": [{"file_name": e.file_name, "sha256": e.sha256, "size": e.size} for e in stored]},
        )
    return stored


@transaction.atomic(durable=True)
def claim_payout_set(
    *,
    customer: Customer,
    claim: Claim,
    payout: PayoutInput,
    password: str,
    otp_token: str = "",
    passkey_verified: bool = False,
) -> PayoutChoice:
    """Change how the claim is to be paid; refused once it is approved (the choice is then locked).

    Guarded (claims/payout_guard.py): password and second factor again, a
    notice e-mail, a cooling-off period before a payout may use the new details.
    """
    payout_guard.reauthenticate(
        user=customer.user, password=password, otp_token=otp_token, passkey_verified=passkey_verified
    )
    claim = _claim_lock_for_customer(customer=customer, claim=claim)
    from claims.elections import election_check_open

    election_check_open(claim=claim)
    if claim.status in PAYOUT_LOCKED or claim.approvals.exists():
        raise ApplicationError(
            "payout_locked", _("Claim %(ref)s is approved; its payout choice is locked.") % {"ref": claim.ref}
        )
    if claim.status == Claim.Status.REJECTED:
        raise ApplicationError("claim_decided", f"Claim {claim.ref} was rejected.")
    before = payout_masked(getattr(claim, "payout", None))
    choice = _payout_write(claim=claim, resolved=_payout_resolve(incident=claim.incident, payout=payout))
    payout_guard.choice_guard(choice=choice, customer=customer, changed=True)
    event_record(
        actor=customer.user,
        action="claim.payout_changed",
        subject=claim,
        data={"before": before, "after": payout_masked(choice)},
    )
    return choice


@transaction.atomic(durable=True)
def claim_respond(
    *,
    customer: Customer,
    claim: Claim,
    lines: list[ClaimLineInput] | None = None,
    message: str = "",
    evidence: Sequence[Any] = (),
) -> Claim:
    """Answer a request for information: edit disputed lines, add evidence, write a note; back to review."""
    claim = _claim_lock_for_customer(customer=customer, claim=claim)
    if claim.status != Claim.Status.INFO_REQUESTED:
        raise ApplicationError(
            "no_information_requested", _("Claim %(ref)s is not waiting for information.") % {"ref": claim.ref}
        )
    if not lines and not evidence and not message.strip():
        raise InvalidInput(
            "invalid", _("Edit a line, add a file or write a note."), extra={"fields": {"message": ["required"]}}
        )
    before = _lines_state(claim)
    if lines:
        # Only the lines the customer sent change; the others keep what was claimed before.
        given = {line.symbol for line in lines}
        resolved = {
            r["asset"].id: r
            for r in _lines_resolve(customer=customer, incident=claim.incident, lines=lines)
            if r["asset"].symbol in given
        }
        existing = {line.asset_id: line for line in claim.lines.all()}
        for asset_id, r in resolved.items():
            line = existing.get(asset_id)
            if line is None:
                ClaimLine.objects.create(
                    claim=claim,
                    asset=r["asset"],
                    snapshot_quantity=r["snapshot"],
                    claimed_quantity=r["claimed"],
                    approved_quantity=r["claimed"],
                    reason=r["reason"],
                )
            elif line.claimed_quantity != r["claimed"] or line.reason != r["reason"]:
                line.claimed_quantity = line.approved_quantity = r["claimed"]
                line.reason = r["reason"]
                line.adjustment_reason = ""
                line.save(update_fields=["claimed_quantity", "approved_quantity", "reason", "adjustment_reason"])
    _amount_refresh(claim)
    claim.status = Claim.Status.UNDER_REVIEW
    claim.save(update_fields=["status", "amount_jpy", "disputed", "matches_snapshot", "updated_at"])
    holdbacks_push(claims=[claim])
    _timeline_add(claim, Claim.Status.UNDER_REVIEW, message.strip())
    with _files_removed_on_error() as written:
        stored = _evidence_store(claim=claim, files=evidence, cleanup=written)
        event_record(
            actor=customer.user,
            action="claim.information_provided",
            subject=claim,
            data={
                "before": {"status": Claim.Status.INFO_REQUESTED, "lines": before},
                "after": {
                    "status": claim.status,
                    "lines": _lines_state(claim),
                    "evidence": [e.sha256 for e in stored],
                },
                "reason": message.strip(),
            },
        )
    return claim


def _participants(claim: Claim, *, review_round: int) -> set[int]:
    """Ids of the staff who acted on the claim in a round (decisions and approvals)."""
    acted = set(ClaimAction.objects.filter(claim=claim, review_round=review_round).values_list("actor_id", flat=True))
    approved = set(
        ClaimApproval.objects.filter(claim=claim, review_round=review_round).values_list("approver_id", flat=True)
    )
    return acted | approved


def _appeal_reviewer(claim: Claim) -> Any | None:
    """The reviewer with the fewest open appeals among those who took no part in the first decision."""
    excluded = _participants(claim, review_round=0)
    return (
        get_user_model()
        .objects.filter(groups__name=Role.REVIEWER, is_active=True)
        .exclude(pk__in=excluded)
        .annotate(
            open_appeals=Count(
                "claim_assignments",
                filter=Q(claim_assignments__review_round=1) & ~Q(claim_assignments__status__in=["approved", "paid"]),
            )
        )
        .order_by("open_appeals", "pk")
        .first()
    )


def claim_is_appealable(claim: Claim) -> bool:
    """A rejection, or an approval that cut a claimed quantity, can be appealed once, within CLAIM_APPEAL_DAYS."""
    if claim.review_round > 0 or hasattr(claim, "appeal"):
        return False
    if claim.appeal_until is None or claim.appeal_until <= timezone.now():
        return False
    if claim.status == Claim.Status.REJECTED:
        return True
    return claim.status in PAYOUT_LOCKED and any(line.is_cut for line in claim.lines.all())


@transaction.atomic(durable=True)
def claim_appeal(*, customer: Customer, claim: Claim, reason: str) -> Claim:
    """Appeal a rejection or an adjustment, once, with a reason; a reviewer new to the claim takes it."""
    claim = _claim_lock_for_customer(customer=customer, claim=claim)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("invalid", _("Say why you appeal."), extra={"fields": {"reason": ["required"]}})
    if hasattr(claim, "appeal") or claim.review_round > 0:
        raise Conflict(
            "already_appealed",
            _("Claim %(ref)s was appealed already; a claim can be appealed once.") % {"ref": claim.ref},
        )
    if not claim_is_appealable(claim):
        raise ApplicationError(
            "not_appealable",
            _("Claim %(ref)s can be appealed only after a rejection or an adjustment.") % {"ref": claim.ref},
        )
    before = claim.status
    ClaimAppeal.objects.create(claim=claim, reason=reason)
    if before in PAYOUT_LOCKED:
        # Remember what the approval paid for: the appeal may raise quantities, or be turned down.
        claim.lines.update(decided_quantity=F("approved_quantity"))
    claim.appealed_from = before
    claim.status = Claim.Status.APPEALED
    claim.review_round = 1
    claim.batch = None
    claim.appeal_until = None
    claim.assigned_reviewer = _appeal_reviewer(claim)
    claim.save(
        update_fields=[
            "appealed_from",
            "status",
            "review_round",
            "batch",
            "appeal_until",
            "assigned_reviewer",
            "updated_at",
        ]
    )
    holdbacks_push(claims=[claim])
    _timeline_add(claim, Claim.Status.APPEALED, reason)
    event_record(
        actor=customer.user,
        action="claim.appealed",
        subject=claim,
        data={
            "before": {"status": before},
            "after": {"status": claim.status, "assigned_reviewer": getattr(claim.assigned_reviewer, "username", "")},
            "reason": reason,
        },
    )
    _notify(claim, "appealed")
    return claim


# ---------------------------------------------------------------------------------------------
# Review and four-eyes approval (staff)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineAdjustment:
    symbol: str
    approved_quantity: Decimal


def required_approvals_for(amount_jpy: int) -> int:
    """Two distinct approvers above settings.CLAIM_SECOND_APPROVER_THRESHOLD_JPY, else one."""
    return 2 if require_yen(amount_jpy) > settings.CLAIM_SECOND_APPROVER_THRESHOLD_JPY else 1


def _claim_lock_for_staff(claim: Claim) -> Claim:
    return (
        Claim.objects.select_for_update(of=("self",), no_key=True)
        .select_related("incident", "customer")
        .get(pk=claim.pk)
    )


def _require_role(actor: Any, *roles: Role) -> None:
    if not has_role(actor, *roles):
        raise ApplicationError("forbidden", "Your role may not do this.", status=403)


def _check_appeal_independence(claim: Claim, actor: Any) -> None:
    """In an appeal round nobody who took part in the first decision may act."""
    if claim.review_round > 0 and actor.pk in _participants(claim, review_round=0):
        raise ApplicationError(
            "four_eyes", f"You took part in the first decision on {claim.ref}; the appeal needs someone else."
        )


def claim_makers(claim: Claim) -> set[int]:
    """Ids of the staff who recommended or adjusted the claim (in any round): they may never approve it."""
    return set(
        ClaimAction.objects.filter(
            claim=claim, kind__in=[ClaimAction.Kind.ADJUST, ClaimAction.Kind.RECOMMEND]
        ).values_list("actor_id", flat=True)
    )


def _action_record(
    *, claim: Claim, actor: Any, kind: str, reason: str = "", before: dict | None = None, after: dict | None = None
) -> None:
    """The decision row (read by the four-eyes triggers) and its audit event. Caller holds the claim lock."""
    ClaimAction.objects.create(claim=claim, actor=actor, kind=kind, review_round=claim.review_round, reason=reason)
    event_record(
        actor=actor,
        action=f"claim.{kind}",
        subject=claim,
        data={"before": before or {}, "after": after or {}, "reason": reason},
    )


def _check_status(claim: Claim, allowed: Sequence[str], what: str) -> None:
    if claim.status not in allowed:
        raise ApplicationError("invalid_transition", f"Claim {claim.ref} is {claim.status}; it cannot be {what}.")


@transaction.atomic(durable=True)
def claim_verify(*, actor: Any, claim: Claim, reason: str = "") -> Claim:
    """A reviewer takes the claim up (submitted or appealed -> under review)."""
    _require_role(actor, Role.REVIEWER, Role.APPROVER, Role.ADMIN)
    claim = _claim_lock_for_staff(claim)
    _check_status(claim, [Claim.Status.SUBMITTED, Claim.Status.APPEALED, Claim.Status.UNDER_REVIEW], "verified")
    _check_appeal_independence(claim, actor)
    before = claim.status
    if claim.status != Claim.Status.UNDER_REVIEW:
        claim.status = Claim.Status.UNDER_REVIEW
        claim.save(update_fields=["status", "updated_at"])
        _timeline_add(claim, Claim.Status.UNDER_REVIEW)
    _action_record(
        claim=claim,
        actor=actor,
        kind=ClaimAction.Kind.VERIFY,
        reason=reason,
        before={"status": before},
        after={"status": claim.status},
    )
    return claim


@transaction.atomic(durable=True)
def claim_line_adjust(*, actor: Any, claim: Claim, adjustments: list[LineAdjustment], reason: str) -> Claim:
    """Change approved quantities (reason required, shown to the customer). The adjuster can never approve."""
    _require_role(actor, Role.REVIEWER, Role.APPROVER, Role.ADMIN)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            "invalid", "A reason is required to adjust a line.", extra={"fields": {"reason": ["required"]}}
        )
    if not adjustments:
        raise InvalidInput("invalid", "Name a line to adjust.", extra={"fields": {"lines": ["required"]}})
    claim = _claim_lock_for_staff(claim)
    _check_status(claim, [*ACTIVE_REVIEW], "adjusted")
    _check_appeal_independence(claim, actor)
    lines = {line.asset.symbol: line for line in claim.lines.select_related("asset")}
    fields: dict[str, list[str]] = {}
    for i, adjustment in enumerate(adjustments):
        line = lines.get(adjustment.symbol)
        if line is None:
            fields[f"lines[{i}].asset"] = [f"claim {claim.ref} has no {adjustment.symbol!r} line"]
            continue
        problem = _quantity_errors(adjustment.approved_quantity, lost=line.asset.quantity_lost)
        if problem:
            fields[f"lines[{i}].approved_quantity"] = [problem]
        elif claim.appealed_from in PAYOUT_LOCKED and adjustment.approved_quantity < line.approved_quantity:
            # Money already promised is not taken back by an appeal the customer made.
            fields[f"lines[{i}].approved_quantity"] = ["an appeal cannot lower an approved quantity"]
    if fields:
        raise InvalidInput("invalid", f"Invalid input: {', '.join(fields)}.", extra={"fields": fields})
    before = _lines_state(claim)
    for adjustment in adjustments:
        line = lines[adjustment.symbol]
        line.approved_quantity = adjustment.approved_quantity
        line.adjustment_reason = reason
        line.save(update_fields=["approved_quantity", "adjustment_reason"])
    _amount_refresh(claim)
    if claim.status in (Claim.Status.SUBMITTED, Claim.Status.APPEALED):
        claim.status = Claim.Status.UNDER_REVIEW
    claim.save(update_fields=["status", "amount_jpy", "disputed", "matches_snapshot", "updated_at"])
    holdbacks_push(claims=[claim])
    _timeline_add(claim, claim.status, reason)
    _action_record(
        claim=claim,
        actor=actor,
        kind=ClaimAction.Kind.ADJUST,
        reason=reason,
        before={"lines": before},
        after={"lines": _lines_state(claim), "amount_jpy": claim.amount_jpy},
    )
    _notify(claim, "adjusted", reason)
    return claim


@transaction.atomic(durable=True)
def claim_info_request(*, actor: Any, claim: Claim, message: str) -> Claim:
    """Ask the customer for information; they answer by editing lines or adding evidence."""
    _require_role(actor, Role.REVIEWER, Role.APPROVER, Role.ADMIN)
    message = (message or "").strip()
    if not message:
        raise InvalidInput("invalid", "Write the message to the customer.", extra={"fields": {"reason": ["required"]}})
    claim = _claim_lock_for_staff(claim)
    _check_status(claim, [Claim.Status.SUBMITTED, Claim.Status.UNDER_REVIEW, Claim.Status.APPEALED], "asked")
    _check_appeal_independence(claim, actor)
    before = claim.status
    claim.status = Claim.Status.INFO_REQUESTED
    claim.save(update_fields=["status", "updated_at"])
    _timeline_add(claim, claim.status, message)
    _action_record(
        claim=claim,
        actor=actor,
        kind=ClaimAction.Kind.REQUEST_INFO,
        reason=message,
        before={"status": before},
        after={"status": claim.status},
    )
    _notify(claim, "info_requested", message)
    return claim


@transaction.atomic(durable=True)
def claim_recommend(*, actor: Any, claim: Claim, reason: str = "") -> Claim:
    """The maker's step: recommend approval of the current approved quantities."""
    _require_role(actor, Role.REVIEWER, Role.APPROVER, Role.ADMIN)
    claim = _claim_lock_for_staff(claim)
    _check_status(claim, [Claim.Status.SUBMITTED, Claim.Status.UNDER_REVIEW, Claim.Status.APPEALED], "recommended")
    _check_appeal_independence(claim, actor)
    if not hasattr(claim, "payout"):
        raise ApplicationError("payout_missing", f"Claim {claim.ref} has no payout choice yet.")
    before = claim.status
    _amount_refresh(claim)
    claim.required_approvals = required_approvals_for(claim.amount_jpy)
    claim.status = Claim.Status.RECOMMENDED
    claim.save(
        update_fields=["status", "required_approvals", "amount_jpy", "disputed", "matches_snapshot", "updated_at"]
    )
    _action_record(
        claim=claim,
        actor=actor,
        kind=ClaimAction.Kind.RECOMMEND,
        reason=reason,
        before={"status": before},
        after={"status": claim.status, "amount_jpy": claim.amount_jpy, "required_approvals": claim.required_approvals},
    )
    return claim


def _prices_lock_if_first(*, actor: Any, incident_id: int) -> None:
    """Freeze the incident's prices at its first approval. Caller's transaction; takes the incident row lock."""
    incident = Incident.objects.get(pk=incident_id)
    if incident.prices_locked_at is None:
        incident = Incident.objects.select_for_update(of=("self",), no_key=True).get(pk=incident_id)
        incident_prices_lock(actor=actor, incident=incident)


def _payouts_hand_off(*, claim_ids: list[int], incident_id: int) -> None:
    """Hand newly approved claims to the payout workflow. Caller's (the approval's) transaction.

    Sends `claims.signals.claims_approved` now, and after commit queues
    `claims.payouts_hand_off` tasks that register the claims with reserves
    (claims/payouts.py); the hand-off sweep catches any lost message.
    """
    if not claim_ids:
        return
    from claims.payouts import HAND_OFF_CHUNK
    from claims.tasks import payouts_hand_off

    claims_approved.send(sender=Claim, claim_ids=list(claim_ids), incident_id=incident_id)
    for start in range(0, len(claim_ids), HAND_OFF_CHUNK):
        # robust: the approval has committed; a lost hand-off is found by the sweep, not shown as a failure.
        transaction.on_commit(
            partial(payouts_hand_off.delay, list(claim_ids[start : start + HAND_OFF_CHUNK])), robust=True
        )


@transaction.atomic(durable=True)
def claim_approve(*, actor: Any, claim: Claim, reason: str = "") -> Claim:
    """The checker's step. Never the maker (who recommended or adjusted); two approvers above the threshold.

    The database enforces the same rule (migration 0005). When the last needed
    approval is in, line values are fixed with jpy_value, the incident's prices
    are locked, the customer is told, and the claim goes to payouts.
    """
    _require_role(actor, Role.APPROVER, Role.ADMIN)
    claim = _claim_lock_for_staff(claim)
    _check_status(claim, [Claim.Status.RECOMMENDED], "approved")
    _check_appeal_independence(claim, actor)
    if actor.pk in claim_makers(claim):
        raise ApplicationError(
            "four_eyes", f"You recommended or adjusted {claim.ref}; another approver must approve it."
        )
    if ClaimApproval.objects.filter(claim=claim, review_round=claim.review_round, approver=actor).exists():
        raise Conflict("already_approved", f"You approved {claim.ref} already; it needs a different second approver.")
    if payout_guard.name_decision_missing(claim):
        raise ApplicationError(
            "payout_name_mismatch",
            _("The account holder's name differs from the registered name; a reviewer must decide on it first."),
        )
    _prices_lock_if_first(actor=actor, incident_id=claim.incident_id)
    _amount_refresh(claim)
    claim.required_approvals = max(claim.required_approvals, required_approvals_for(claim.amount_jpy))
    ClaimApproval.objects.create(claim=claim, approver=actor, review_round=claim.review_round)
    approvals = ClaimApproval.objects.filter(claim=claim, review_round=claim.review_round).count()
    before = claim.status
    if approvals >= claim.required_approvals:
        if claim.review_round > 0:
            claim.lines.update(decided_quantity=F("approved_quantity"))  # the appeal's decision replaces the first
        claim.status = Claim.Status.APPROVED
        claim.approved_amount_jpy = claim.amount_jpy
        claim.approved_at = timezone.now()
    claim.save(
        update_fields=[
            "status",
            "required_approvals",
            "amount_jpy",
            "approved_amount_jpy",
            "approved_at",
            "disputed",
            "matches_snapshot",
            "updated_at",
        ]
    )
    _action_record(
        claim=claim,
        actor=actor,
        kind=ClaimAction.Kind.APPROVE,
        reason=reason,
        before={"status": before},
        after={
            "status": claim.status,
            "approvals": approvals,
            "required_approvals": claim.required_approvals,
            "approved_amount_jpy": claim.approved_amount_jpy,
            "lines": _lines_state(claim),
        },
    )
    if claim.status == Claim.Status.APPROVED:
        _timeline_add(claim, Claim.Status.APPROVED)
        _decided_payment_state(claim)
        _notify(claim, "closed_nothing_due" if claim.status == Claim.Status.CLOSED_NOTHING_DUE else "approved")
    return claim


def _appeal_window(claim: Claim) -> dt.datetime | None:
    """Until when a first decision that cut or rejected the claim may be appealed (None: it may not)."""
    cut = claim.status == Claim.Status.REJECTED or any(line.is_cut for line in claim.lines.all())
    if claim.review_round > 0 or not cut:
        return None
    return timezone.now() + dt.timedelta(days=settings.CLAIM_APPEAL_DAYS)


def _decided_payment_state(claim: Claim) -> None:
    """After the last approval: the holdback becomes the approved amount and the claim goes to payouts.

    A claim approved at ¥0 has nothing to pay: it is closed there and then.
    An upheld appeal of a claim already (partly) paid keeps its payment state
    until the difference is paid. Caller's transaction, claim locked.
    """
    if claim.review_round > 0 and claim.appealed_from in (Claim.Status.PARTLY_PAID, Claim.Status.PAID):
        claim.status = Claim.Status.PARTLY_PAID if claim.paid_jpy < claim.approved_amount_jpy else claim.appealed_from
    elif claim.approved_amount_jpy == 0:
        claim.status = Claim.Status.CLOSED_NOTHING_DUE
        _timeline_add(claim, Claim.Status.CLOSED_NOTHING_DUE)
    claim.appeal_until = _appeal_window(claim)
    claim.save(update_fields=["status", "appeal_until", "updated_at"])
    holdbacks_push(claims=[claim])
    if claim.status != Claim.Status.CLOSED_NOTHING_DUE:
        _payouts_hand_off(claim_ids=[claim.pk], incident_id=claim.incident_id)


@transaction.atomic(durable=True)
def claim_reject(*, actor: Any, claim: Claim, reason: str) -> Claim:
    """Reject with a reason shown to the customer. Rejecting an appeal of an approved claim keeps its approval."""
    _require_role(actor, Role.REVIEWER, Role.APPROVER, Role.ADMIN)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("invalid", "A reason is required to reject.", extra={"fields": {"reason": ["required"]}})
    claim = _claim_lock_for_staff(claim)
    _check_status(claim, [*ACTIVE_REVIEW, Claim.Status.RECOMMENDED], "rejected")
    _check_appeal_independence(claim, actor)
    before = claim.status
    if claim.review_round > 0 and claim.appealed_from in PAYOUT_LOCKED:
        # The appeal is turned down: what was approved stays approved (and paid stays paid).
        for line in claim.lines.all():
            if line.approved_quantity != line.decided_quantity:
                line.approved_quantity = line.decided_quantity
                line.save(update_fields=["approved_quantity"])
        _amount_refresh(claim)
        claim.status = claim.appealed_from
        notify_kind = "appeal_rejected"
    else:
        claim.status = Claim.Status.REJECTED
        notify_kind = "rejected"
    claim.appeal_until = _appeal_window(claim)
    claim.save(update_fields=["status", "amount_jpy", "disputed", "matches_snapshot", "appeal_until", "updated_at"])
    holdbacks_push(claims=[claim])
    _timeline_add(claim, Claim.Status.REJECTED, reason)
    if claim.status != Claim.Status.REJECTED:
        _timeline_add(claim, claim.status)
    _action_record(
        claim=claim,
        actor=actor,
        kind=ClaimAction.Kind.REJECT,
        reason=reason,
        before={"status": before},
        after={"status": claim.status},
    )
    _notify(claim, notify_kind, reason)
    return claim


# ---------------------------------------------------------------------------------------------
# Bulk approval: a maker's batch of exactly-matching claims, approved by a different checker
# ---------------------------------------------------------------------------------------------

BULK_CHUNK = 5000


@transaction.atomic(durable=True)
def claim_batch_create(
    *, actor: Any, incident: Incident, amount_ceiling_jpy: int | None = None, reason: str = ""
) -> ClaimBatch:
    """The maker's step: gather every claim of the incident that matches the snapshot exactly.

    Eligible: submitted or under review, not disputed, approved quantities equal
    to the snapshot, not in another batch, at or below the ceiling and at or
    below the second-approver threshold (larger claims need two approvers one by
    one). Each claim gets a `recommend` decision by the maker, so the four-eyes
    triggers treat batch and single approvals alike.
    """
    _require_role(actor, Role.REVIEWER, Role.APPROVER, Role.ADMIN)
    if amount_ceiling_jpy is not None and (
        isinstance(amount_ceiling_jpy, bool) or not isinstance(amount_ceiling_jpy, int) or amount_ceiling_jpy < 0
    ):
        raise InvalidInput(
            "invalid", "The ceiling must be whole yen >= 0.", extra={"fields": {"amount_ceiling_jpy": ["invalid"]}}
        )
    ceiling = settings.CLAIM_SECOND_APPROVER_THRESHOLD_JPY
    if amount_ceiling_jpy is not None:
        ceiling = min(ceiling, amount_ceiling_jpy)
    batch = ClaimBatch.objects.create(incident=incident, amount_ceiling_jpy=amount_ceiling_jpy, created_by=actor)
    eligible = Claim.objects.filter(
        incident=incident,
        status__in=[Claim.Status.SUBMITTED, Claim.Status.UNDER_REVIEW],
        review_round=0,
        disputed=False,
        matches_snapshot=True,
        batch__isnull=True,
        amount_jpy__lte=ceiling,
    ).exclude(payout__isnull=True)
    # A holder name that differs from the registered name needs a reviewer's own decision, not a bulk one.
    eligible = eligible.exclude(payout__name_check=PayoutChoice.NameCheck.MISMATCH, payout__name_accepted_by="")
    # One UPDATE takes the rows; a claim decided meanwhile by someone else no longer matches and stays out.
    count = eligible.update(
        batch=batch, status=Claim.Status.RECOMMENDED, required_approvals=1, updated_at=timezone.now()
    )
    if count == 0:
        raise ApplicationError("batch_empty", f"No claim of {incident.code} matches the snapshot and the ceiling.")
    now = timezone.now()
    ids = list(Claim.objects.filter(batch=batch).order_by("pk").values_list("pk", flat=True))
    total = Claim.objects.filter(batch=batch).aggregate(total=Sum("amount_jpy"))["total"] or 0
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO claims_claimaction (claim_id, actor_id, kind, review_round, reason, batch_id, created_at) "
            "SELECT id, %s, 'recommend', review_round, '', %s, %s FROM claims_claim WHERE batch_id = %s",
            [actor.pk, batch.pk, _sql_time(now), batch.pk],
        )
    batch.claim_count = count
    batch.total_jpy = total
    batch.save(update_fields=["claim_count", "total_jpy"])
    event_record(
        actor=actor,
        action="claim_batch.created",
        subject=batch,
        data={
            "after": {
                "incident": incident.code,
                "claims": count,
                "total_jpy": total,
                "amount_ceiling_jpy": amount_ceiling_jpy,
                "first_claim_id": ids[0],
                "last_claim_id": ids[-1],
            },
            "reason": reason,
        },
    )
    return batch


def _bulk_values(claim_ids: list[int]) -> tuple[list[int], list[int], dict[int, int]]:
    """Each claim's total (jpy_value per line, truncated per line) and the lines whose stored value changed.

    Reads the lines by ranges of the (sorted) claim ids: an index range scan whose plan cannot go
    wrong on fresh statistics; lines of claims outside the batch in a range are skipped. Caller holds
    the claims' locks.
    """
    changed_ids: list[int] = []
    changed_values: list[int] = []
    totals: dict[int, int] = dict.fromkeys(claim_ids, 0)
    for start in range(0, len(claim_ids), BULK_CHUNK):
        chunk = claim_ids[start : start + BULK_CHUNK]
        rows = ClaimLine.objects.filter(claim_id__gte=chunk[0], claim_id__lte=chunk[-1]).values_list(
            "pk", "claim_id", "approved_quantity", "asset__reference_price_jpy", "value_jpy"
        )
        for pk, claim_id, quantity, price, stored in rows:
            if claim_id not in totals:
                continue
            value = jpy_value(quantity, price)
            if value != stored:
                changed_ids.append(pk)
                changed_values.append(value)
            totals[claim_id] += value
    return changed_ids, changed_values, totals


def _batch_values_current(batch: ClaimBatch) -> bool:
    """Whether every line of the batch's claims holds approved quantity x price truncated, and every claim the sum.

    The values were computed with jpy_value when the claim was filed, adjusted or revalued
    (incident_asset_price_set); this one query confirms nothing changed behind the services' back,
    so 100,000 claims need not be revalued in Python. PostgreSQL only; elsewhere it says no.
    """
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM claims_claim c JOIN ("
            " SELECT l.claim_id, SUM(l.value_jpy) AS total,"
            " bool_or(l.value_jpy <> trunc(l.approved_quantity * a.reference_price_jpy)) AS stale"
            " FROM claims_claimline l JOIN claims_incidentasset a ON a.id = l.asset_id"
            " WHERE l.claim_id IN (SELECT id FROM claims_claim WHERE batch_id = %s AND status = 'recommended')"
            " GROUP BY l.claim_id) x ON x.claim_id = c.id"
            " WHERE c.batch_id = %s AND c.status = 'recommended' AND (x.stale OR c.amount_jpy <> x.total))",
            [batch.pk, batch.pk],
        )
        return not cursor.fetchone()[0]


def _sql_time(value: dt.datetime) -> Any:
    """A datetime as the database stores it, for raw SQL (SQLite keeps naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def _int_array(values: list[int]) -> str:
    return "{" + ",".join(str(int(v)) for v in values) + "}"


def _bulk_write(
    table: str, columns: list[str], ids: list[int], values: list[int], extra: str = "", extra_params: Sequence = ()
) -> None:
    """UPDATE table SET each column = the id's value [, extra] — one statement per chunk (unnest on PostgreSQL).

    `extra` is a constant SQL assignment list over the row's own columns, with `extra_params`.
    """
    tail = f", {extra}" if extra else ""
    with connection.cursor() as cursor:
        for start in range(0, len(ids), BULK_CHUNK * 4):
            chunk_ids, chunk_values = ids[start : start + BULK_CHUNK * 4], values[start : start + BULK_CHUNK * 4]
            if connection.vendor == "postgresql":
                assignments = ", ".join(f"{column} = v.value" for column in columns)
                # Array literals as one string each: psycopg's per-element list adaptation costs seconds here.
                cursor.execute(
                    f"UPDATE {table} SET {assignments}{tail} "
                    f"FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, value) WHERE {table}.id = v.id",
                    [*extra_params, _int_array(chunk_ids), _int_array(chunk_values)],
                )
            else:
                assignments = ", ".join(f"{column} = %s" for column in columns)
                cursor.executemany(
                    f"UPDATE {table} SET {assignments}{tail} WHERE id = %s",
                    [
                        (*([value] * len(columns)), *extra_params, pk)
                        for pk, value in zip(chunk_ids, chunk_values, strict=True)
                    ],
                )


@transaction.atomic(durable=True)
def claim_batch_approve(*, actor: Any, batch: ClaimBatch, reason: str = "") -> ClaimBatch:
    """The checker's step: approve every claim of a proposed batch at once (never by its maker).

    One transaction: values via jpy_value per line, one approval row, one
    timeline entry and one audit event per claim (events written in chunks,
    one tree-head lock per chunk), the incident's prices locked, then the claims
    go to payouts and their customers are told after commit.
    """
    _require_role(actor, Role.APPROVER, Role.ADMIN)
    batch = ClaimBatch.objects.select_for_update(of=("self",), no_key=True).select_related("incident").get(pk=batch.pk)
    if batch.status != ClaimBatch.Status.PROPOSED:
        raise Conflict("batch_decided", f"Batch {batch.pk} is {batch.status} already.")
    if batch.created_by_id == actor.pk:
        raise ApplicationError("four_eyes", "You built this batch; a different approver must approve it.")
    # Lock the batch's claims in id order: a claim cannot be decided one by one meanwhile.
    ids = list(
        Claim.objects.select_for_update(of=("self",), no_key=True)
        .filter(batch=batch, status=Claim.Status.RECOMMENDED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        raise ApplicationError("batch_empty", f"Batch {batch.pk} has no claim left to approve.")
    _prices_lock_if_first(actor=actor, incident_id=batch.incident_id)
    now = timezone.now()
    if not _batch_values_current(batch):
        # Stored values are stale (a price changed behind the services' back): revalue with jpy_value.
        line_ids, values, totals = _bulk_values(ids)
        _bulk_write("claims_claimline", ["value_jpy"], line_ids, values)
        _bulk_write("claims_claim", ["amount_jpy"], list(totals), list(totals.values()))
    # Approval rows first: the database refuses the status change without them (four-eyes trigger).
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO claims_claimapproval (claim_id, approver_id, review_round, batch_id, created_at) "
            "SELECT id, %s, review_round, %s, %s FROM claims_claim WHERE batch_id = %s AND status = 'recommended'",
            [actor.pk, batch.pk, _sql_time(now), batch.pk],
        )
        cursor.execute(
            "INSERT INTO claims_claimtimelineentry (claim_id, status, note, created_at) "
            "SELECT id, 'approved', '', %s FROM claims_claim WHERE batch_id = %s AND status = 'recommended'",
            [_sql_time(now), batch.pk],
        )
        cursor.execute(
            "UPDATE claims_claim SET status = 'approved', approved_amount_jpy = amount_jpy, approved_at = %s, "
            "updated_at = %s WHERE batch_id = %s AND status = 'recommended'",
            [_sql_time(now), _sql_time(now), batch.pk],
        )
    # Exactly the claims this batch approved (not ones of the batch approved one by one before).
    approved = dict(
        Claim.objects.filter(approvals__batch=batch).order_by("pk").values_list("pk", "approved_amount_jpy")
    )
    claim_ids = list(approved)
    amounts = list(approved.values())
    total = sum(amounts)
    batch.status = ClaimBatch.Status.APPROVED
    batch.approved_by = actor
    batch.approved_at = now
    batch.claim_count = len(claim_ids)
    batch.total_jpy = total
    batch.save(update_fields=["status", "approved_by", "approved_at", "claim_count", "total_jpy"])
    event_record(
        actor=actor,
        action="claim_batch.approved",
        subject=batch,
        data={
            "before": {"status": "proposed"},
            "after": {"status": "approved", "claims": len(claim_ids), "total_jpy": total},
            "reason": reason,
        },
    )
    for start in range(0, len(claim_ids), BULK_CHUNK):
        events_record(
            actor=actor,
            events=[
                EventInput(
                    "claim.approve",
                    "claims.claim",
                    str(pk),
                    {
                        "before": {"status": "recommended"},
                        "after": {"status": "approved", "approved_amount_jpy": approved[pk], "batch": batch.pk},
                        "reason": reason,
                    },
                )
                for pk in claim_ids[start : start + BULK_CHUNK]
            ],
        )
    _payouts_hand_off(claim_ids=claim_ids, incident_id=batch.incident_id)
    _notify_many(claim_ids, "approved")
    return batch


# ---------------------------------------------------------------------------------------------
# Paid (told by the payout side)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Payment:
    claim_id: int
    before: str
    paid_before: int
    paid_jpy: int
    approved_jpy: int


@transaction.atomic(durable=True)
def claims_payments_sync(*, claim_ids: Sequence[int], actor: Any = None) -> int:
    """Bring approved claims' paid-so-far and payment state in step with reserves (idempotent).

    A claim is `partly_paid` while reserves has paid some but not all of its
    approved amount (each change adds a timeline entry with the amount and
    rate received so far), `paid` once paid in full, and back to what is
    true when a paid payout came back (returned). Returns how many claims
    changed.
    """
    rows = list(
        Claim.objects.select_for_update(of=("self",), no_key=True)
        .filter(pk__in=list(claim_ids), status__in=[Claim.Status.APPROVED, Claim.Status.PARTLY_PAID, Claim.Status.PAID])
        .order_by("pk")
        .values_list("pk", "ref", "status", "approved_amount_jpy", "paid_jpy")
    )
    paid = reserve_selectors.paid_for_claims(claim_refs=[row[1] for row in rows])
    by_state: dict[str, list[_Payment]] = defaultdict(list)
    for pk, ref, status, approved, paid_before in rows:
        paid_now = min(paid.get(ref, 0), approved)
        if paid_now != paid_before:
            state = Claim.Status.PAID if paid_now >= approved else Claim.Status.PARTLY_PAID
            by_state[state if paid_now else Claim.Status.APPROVED].append(
                _Payment(pk, status, paid_before, paid_now, approved)
            )
    now = timezone.now()
    for state, payments in by_state.items():
        _payments_write(state=state, payments=payments, actor=actor, now=now)
    return sum(len(payments) for payments in by_state.values())


def _payments_write(*, state: str, payments: list["_Payment"], actor: Any, now: dt.datetime) -> None:
    """Set paid-so-far and the state of claims that all reach `state`; timeline, audit, emails. Claims locked."""
    ids = [p.claim_id for p in payments]
    # paid_at: when paid in full (cleared if a payment came back)
    paid_at = now if state == Claim.Status.PAID else None
    extra, params = "status = %s, updated_at = %s, paid_at = %s", [state, now, paid_at]
    _bulk_write("claims_claim", ["paid_jpy"], ids, [p.paid_jpy for p in payments], extra, params)
    entries = [
        ClaimTimelineEntry(
            claim_id=p.claim_id, status=state, paid_jpy=p.paid_jpy, approved_jpy=p.approved_jpy, created_at=now
        )
        for p in payments
    ]
    ClaimTimelineEntry.objects.bulk_create(entries, batch_size=BULK_CHUNK)
    for start in range(0, len(payments), BULK_CHUNK):
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
                for p in payments[start : start + BULK_CHUNK]
            ],
        )
    if state != Claim.Status.APPROVED:  # a return is told by its own message (payout_returned)
        _notify_many([p.claim_id for p in payments if p.paid_jpy > p.paid_before], state)


# ---------------------------------------------------------------------------------------------
# Invitations and activation (customers learn they are affected and set a password)
# ---------------------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _activation_token_create(customer: Customer) -> str:
    """A new one-time activation token (only its hash is stored). Caller's transaction."""
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    ActivationToken.objects.create(
        customer=customer,
        token_hash=_token_hash(token),
        created_at=now,
        expires_at=now + dt.timedelta(days=settings.ACTIVATION_TOKEN_DAYS),
    )
    return token


@transaction.atomic(durable=True)
def invitations_prepare(*, incident_id: int) -> int:
    """Record a pending invitation for every affected customer not yet invited; returns how many are pending.

    Safe to run twice: the (incident, customer) pair is unique and existing rows are left alone.
    """
    incident = Incident.objects.get(pk=incident_id)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO claims_invitation (incident_id, customer_id, status, created_at) "
            "SELECT DISTINCT %s, h.customer_id, 'pending', %s FROM claims_holding h "
            "JOIN claims_incidentasset a ON a.id = h.asset_id WHERE a.incident_id = %s "
            "ON CONFLICT (incident_id, customer_id) DO NOTHING",
            [incident.pk, _sql_time(now), incident.pk],
        )
        created = cursor.rowcount
    if created:
        event_record(
            actor=None, action="invitations.prepared", subject=incident, data={"after": {"invitations": created}}
        )
    return Invitation.objects.filter(incident=incident, status=Invitation.Status.PENDING).count()


@dataclass(frozen=True)
class InvitationMail:
    invitation_id: int
    customer_id: int
    email: str
    name: str
    language: str
    token: str | None  # None: the customer has a login already


def _invitations_claim(*, incident_id: int, batch_size: int) -> list[InvitationMail]:
    """Take up to batch_size pending invitations (SKIP LOCKED), mark them sending, and commit."""
    with transaction.atomic(durable=True):
        rows = list(
            Invitation.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
            .filter(incident_id=incident_id, status=Invitation.Status.PENDING)
            .select_related("customer")
            .order_by("pk")[:batch_size]
        )
        if not rows:
            return []
        mails = [
            InvitationMail(
                invitation_id=row.pk,
                customer_id=row.customer_id,
                email=row.customer.email,
                name=row.customer.name,
                language=row.customer.language,
                token=None if row.customer.user_id else _activation_token_create(row.customer),
            )
            for row in rows
        ]
        Invitation.objects.filter(pk__in=[row.pk for row in rows]).update(status=Invitation.Status.SENDING)
        events_record(
            actor=None,
            events=[
                EventInput(
                    "invitation.sending",
                    "claims.incident",
                    str(incident_id),
                    {"after": {"accounts": [row.customer.account_id for row in rows]}},
                )
            ],
        )
    return mails


def invitations_send_batch(*, incident_id: int, batch_size: int) -> int:
    """Email one batch of pending invitations; returns how many were sent (0: none left).

    Each invitation is marked `sending` and committed before its email goes out,
    so a second run or a second worker never emails the same customer twice. If
    sending fails, the invitations already sent are marked sent, the one whose
    send failed stays `sending` (it may have gone out: at most once, visible to
    staff), the rest go back to `pending` for the retry; then the error is raised.
    """
    from django.core.mail import get_connection

    from claims import notifications

    mails = _invitations_claim(incident_id=incident_id, batch_size=batch_size)
    if not mails:
        return 0
    incident = Incident.objects.get(pk=incident_id)
    messages = notifications.invitation_messages(incident=incident, mails=mails)
    sent: list[int] = []
    attempted: int | None = None
    try:
        with get_connection() as mailer:
            for invitation_id, message in messages:
                attempted = invitation_id
                mailer.send_messages([message])
                sent.append(invitation_id)
                attempted = None
    finally:
        if sent:
            Invitation.objects.filter(pk__in=sent).update(status=Invitation.Status.SENT, sent_at=timezone.now())
        untouched = [pk for pk, _ in messages if pk not in sent and pk != attempted]
        if untouched:
            Invitation.objects.filter(pk__in=untouched).update(status=Invitation.Status.PENDING)
    return len(sent)


ACTIVATION_INVALID = "This link is invalid or has expired. Ask for a new one on the password reset page."


@transaction.atomic(durable=True)
def customer_activate(*, token: str, password: str) -> Any:
    """Use a one-time activation token to create the customer's login (or set a new password).

    The password must pass Django's validators. Every other open token of the customer is spent too.
    """
    row = (
        ActivationToken.objects.select_for_update(of=("self",), no_key=True)
        .select_related("customer")
        .filter(token_hash=_token_hash(token or ""))
        .first()
    )
    if row is None or row.used_at is not None or row.expires_at <= timezone.now():
        raise InvalidInput("activation_invalid", ACTIVATION_INVALID, extra={"fields": {"token": ["invalid"]}})
    customer = Customer.objects.select_for_update(of=("self",), no_key=True).get(pk=row.customer_id)
    users = get_user_model().objects
    user = customer.user
    created = user is None
    if created:
        username = customer.email.lower()
        if users.filter(username__iexact=username).exists():
            username = customer.account_id
        user = users.model(username=username, email=customer.email, first_name=customer.name[:150])
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise InvalidInput(
            "invalid", " ".join(exc.messages), extra={"fields": {"password": list(exc.messages)}}
        ) from exc
    user.set_password(password)
    user.save()
    if created:
        user.groups.add(Group.objects.get(name=Role.CUSTOMER))
        customer.user = user
        customer.save(update_fields=["user"])
    ActivationToken.objects.filter(customer=customer, used_at__isnull=True).update(used_at=timezone.now())
    event_record(
        actor=user,
        action="customer.activated" if created else "customer.password_set",
        subject=customer,
        data={"after": {"username": user.username}},
    )
    return user


@transaction.atomic(durable=True)
def activation_links_send(*, email: str) -> None:
    """Email a fresh activation link to every not-yet-activated customer with this address.

    Says nothing about whether there is one (the page answers the same either way).
    """
    customers = list(Customer.objects.filter(email__iexact=(email or "").strip(), user__isnull=True))
    if not customers:
        return
    from claims import notifications

    mails = [
        InvitationMail(
            invitation_id=0,
            customer_id=c.pk,
            email=c.email,
            name=c.name,
            language=c.language,
            token=_activation_token_create(c),
        )
        for c in customers
    ]
    event_record(
        actor=None,
        action="customer.activation_link_sent",
        subject=customers[0],
        data={"after": {"accounts": [c.account_id for c in customers]}},
    )
    transaction.on_commit(partial(notifications.activation_links_send, mails=mails))


@transaction.atomic(durable=True)
def invitations_release_sending(*, incident_id: int) -> int:
    """Operator's choice: invitations stuck in `sending` go back to `pending` (their email may have gone out)."""
    released = Invitation.objects.filter(incident_id=incident_id, status=Invitation.Status.SENDING).update(
        status=Invitation.Status.PENDING
    )
    if released:
        event_record(
            actor=None,
            action="invitations.released",
            subject=("claims.incident", incident_id),
            data={"after": {"released": released}},
        )
    return released
