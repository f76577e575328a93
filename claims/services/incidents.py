"""Incidents: declare one with its lost assets, price the assets, move it along draft → open → closed → settled."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import Actor, event_record
from claims.models import ClaimLine, Incident, IncidentAsset
from claims.services.handoff import fund_open_for
from claims.services.holdbacks import holdbacks_refresh
from core.bulk import rows_update
from core.dispatch import enqueue_after_commit
from core.errors import ApplicationError, Conflict, InvalidInput
from core.locks import locked
from core.money import jpy_value
from core.types import User

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
        fields["detected_at"] = [_("must not be before occurred_at")]
    if claim_closes_at <= claim_opens_at:
        fields["claim_closes_at"] = [_("must be after claim_opens_at")]
    if fields:
        raise InvalidInput("invalid", _("The incident's times are inconsistent."), extra={"fields": fields})


def _check_asset(asset: AssetInput) -> None:
    fields: dict[str, list[str]] = {}
    if not asset.symbol or len(asset.symbol) > 16 or not asset.symbol.replace("-", "").isalnum():
        fields["symbol"] = [_("must be 1-16 letters or digits")]
    if not isinstance(asset.quantity_lost, Decimal) or asset.quantity_lost < 0:
        fields["quantity_lost"] = [_("must be a non-negative decimal")]
    if asset.wallet_type not in IncidentAsset.WalletType.values:
        fields["wallet_type"] = [_("must be hot or cold")]
    if asset.reference_price_jpy is not None:
        if not isinstance(asset.reference_price_jpy, Decimal) or asset.reference_price_jpy <= 0:
            fields["reference_price_jpy"] = [_("must be a positive decimal")]
        if not asset.price_source.strip():
            fields["price_source"] = [_("is required with a reference price")]
    if (
        asset.price_window_start is not None
        and asset.price_window_end is not None
        and asset.price_window_end < asset.price_window_start
    ):
        fields["price_window_end"] = [_("must not be before price_window_start")]
    if fields:
        raise InvalidInput(
            "invalid", _("Asset %(symbol)s is invalid.") % {"symbol": asset.symbol}, extra={"fields": fields}
        )


@transaction.atomic(durable=True)
def incident_declare(
    *,
    actor: User | Actor,
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
        raise InvalidInput(
            "invalid", _("An asset is listed twice."), extra={"fields": {"assets": [_("duplicate symbol")]}}
        )
    for asset in assets:
        _check_asset(asset)
    if Incident.objects.filter(code=code).exists():
        raise Conflict("incident_exists", _("An incident with code %(code)s already exists.") % {"code": code})
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
                created_by=actor if isinstance(actor, User) else None,
            )
    except IntegrityError as exc:  # a concurrent declaration took the code
        raise Conflict("incident_exists", _("An incident with code %(code)s already exists.") % {"code": code}) from exc
    created = IncidentAsset.objects.bulk_create([IncidentAsset(incident=incident, **a.__dict__) for a in assets])
    event_record(
        actor=actor,
        action="incident.declared",
        subject=incident,
        data={"after": {**_incident_state(incident), "assets": [_asset_state(a) for a in created]}},
    )
    return incident


@transaction.atomic(durable=True)
def incident_asset_add(*, actor: User | Actor, incident: Incident, asset: AssetInput) -> IncidentAsset:
    """Add a lost asset to a draft incident that has no snapshot yet."""
    incident = locked(Incident.objects).get(pk=incident.pk)
    if incident.status != Incident.Status.DRAFT or hasattr(incident, "snapshot"):
        raise ApplicationError("incident_assets_fixed", _("Assets can only be added to a draft without a snapshot."))
    _check_asset(asset)
    if incident.assets.filter(symbol=asset.symbol).exists():
        raise Conflict(
            "asset_exists",
            _("Incident %(code)s already has asset %(symbol)s.") % {"code": incident.code, "symbol": asset.symbol},
        )
    created = IncidentAsset.objects.create(incident=incident, **asset.__dict__)
    event_record(actor=actor, action="incident.asset_added", subject=incident, data={"after": _asset_state(created)})
    return created


@transaction.atomic(durable=True)
def incident_asset_price_set(
    *,
    actor: User | Actor,
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
    incident = locked(Incident.objects).get(pk=asset.incident_id)
    if incident.prices_locked_at is not None:
        raise ApplicationError(
            "prices_locked",
            _("Reference prices of %(code)s are fixed since a claim was approved (%(when)s).")
            % {
                "code": incident.code,
                "when": timezone.localtime(incident.prices_locked_at).strftime("%Y-%m-%d %H:%M %Z"),
            },
        )
    row = locked(IncidentAsset.objects).get(pk=asset.pk)
    _check_asset(
        AssetInput(
            symbol=row.symbol,
            quantity_lost=row.quantity_lost,
            wallet_type=row.wallet_type,
            reference_price_jpy=reference_price_jpy,
            price_source=price_source,
            price_method=price_method,
            price_window_start=price_window_start,
            price_window_end=price_window_end,
        )
    )
    before = _asset_state(row)
    row.reference_price_jpy = reference_price_jpy
    row.price_source = price_source
    row.price_method = price_method
    row.price_window_start = price_window_start
    row.price_window_end = price_window_end
    row.save()
    _asset_line_values_refresh(row)
    event_record(
        actor=actor,
        action="incident.price_set",
        subject=incident,
        data={"before": before, "after": _asset_state(row), "reason": reason},
    )
    return row


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
    rows_update(model=ClaimLine, columns={"id": ids, "value_jpy": values})
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE claims_claim SET amount_jpy = (SELECT COALESCE(SUM(l.value_jpy), 0) FROM claims_claimline l "
            "WHERE l.claim_id = claims_claim.id) "
            "WHERE id IN (SELECT claim_id FROM claims_claimline WHERE asset_id = %s)",
            [asset.pk],
        )
    if asset.incident.status != Incident.Status.DRAFT:
        holdbacks_refresh(incident=asset.incident)


def incident_prices_lock(*, actor: User | Actor, incident: Incident) -> bool:
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


def prices_lock_if_first(*, actor: User | Actor, incident_id: int) -> None:
    """At a claim's approval: freeze the incident's prices if this is its first. Takes the incident row lock."""
    incident = Incident.objects.get(pk=incident_id)
    if incident.prices_locked_at is None:
        incident = locked(Incident.objects).get(pk=incident_id)
        incident_prices_lock(actor=actor, incident=incident)


def _check_can_open(incident: Incident) -> None:
    if not hasattr(incident, "snapshot"):
        raise ApplicationError("snapshot_missing", _("Import the balance snapshot before opening the incident."))
    unpriced = list(incident.assets.filter(reference_price_jpy__isnull=True).values_list("symbol", flat=True))
    if unpriced:
        raise ApplicationError(
            "prices_missing", _("Set reference prices first for: %(symbols)s.") % {"symbols": ", ".join(unpriced)}
        )


@transaction.atomic(durable=True)
def incident_transition(*, actor: User | Actor, incident: Incident, to_status: str, reason: str = "") -> Incident:
    """Move an incident along draft → open → closed → settled; any other move is refused (422)."""
    incident = locked(Incident.objects).get(pk=incident.pk)
    if to_status not in INCIDENT_TRANSITIONS:
        raise InvalidInput(
            "invalid",
            _("Unknown status %(status)s.") % {"status": to_status},
            extra={"fields": {"to": [_("unknown status")]}},
        )
    if to_status not in INCIDENT_TRANSITIONS[incident.status]:
        raise ApplicationError(
            "invalid_transition",
            _("Incident %(code)s cannot go from %(from)s to %(to)s.")
            % {
                "code": incident.code,
                "from": incident.get_status_display(),
                "to": Incident.Status(to_status).label,
            },
        )
    if to_status == Incident.Status.OPEN:
        _check_can_open(incident)
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
        # After commit: the task reads the committed incident and emails every affected customer once.
        enqueue_after_commit("claims.invitations_dispatch", incident.pk)
    if to_status == Incident.Status.SETTLED:
        # Settled: the proof of liabilities over every eligible claim is signed and published.
        enqueue_after_commit("reserves.liabilities_publish", incident.code, robust=True)
    return incident
