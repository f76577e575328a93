"""Customers file a claim (accept the snapshot or dispute lines, choose the payout, add files) and answer questions."""

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import event_record
from claims.models import Claim, ClaimLine, Customer, Evidence, Holding, Incident, PayoutChoice
from claims.services._shared import (
    amount_refresh,
    amounts_apply,
    claim_lock_for_customer,
    lines_state,
    lines_state_of,
    notify,
    quantity_errors,
    timeline_add,
)
from claims.services.evidence import evidence_store, files_removed_on_error
from claims.services.holdbacks import holdbacks_push
from claims.services.payout_choice import PayoutInput, choice_guard, payout_masked, payout_resolve, payout_write
from core.errors import ApplicationError, Conflict, InvalidInput
from core.locks import locked
from core.money import jpy_value

REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


@dataclass(frozen=True)
class ClaimLineInput:
    """A customer's claimed quantity for one asset; `reason` is required when it differs from the snapshot."""

    symbol: str
    claimed_quantity: Decimal
    reason: str = ""


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


def _canonical_quantity(value: Decimal) -> str:
    return f"{value.normalize():f}" if value else "0"


def _request_fingerprint(*, incident: Incident, lines: list[ClaimLineInput] | None, payout: PayoutInput) -> str:
    """What the request asked for, hashed: a repeated Idempotency-Key must come with the same request."""
    payload = {
        "incident": incident.code,
        "lines": sorted(
            [str(line.symbol), _canonical_quantity(line.claimed_quantity), (line.reason or "").strip()]
            if isinstance(line.claimed_quantity, Decimal)
            else [str(line.symbol), repr(line.claimed_quantity), line.reason]
            for line in lines or []
        ),
        "payout": {k: v for k, v in payout.__dict__.items() if v},
    }
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
        problem = quantity_errors(line.claimed_quantity, lost=asset.quantity_lost)
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
        raise InvalidInput(
            "invalid", _("Invalid input: %(fields)s.") % {"fields": ", ".join(fields)}, extra={"fields": fields}
        )
    if not resolved:
        raise InvalidInput(
            "invalid", _("Nothing to claim: no holdings and no lines."), extra={"fields": {"lines": [_("no lines")]}}
        )
    return [resolved[symbol] for symbol in sorted(resolved)]


def _line_new(claim: Claim, resolved: dict[str, Any]) -> ClaimLine:
    """An unsaved line from a `_lines_resolve` entry: approved as claimed until a reviewer adjusts it."""
    return ClaimLine(
        claim=claim,
        asset=resolved["asset"],
        snapshot_quantity=resolved["snapshot"],
        claimed_quantity=resolved["claimed"],
        approved_quantity=resolved["claimed"],
        reason=resolved["reason"],
    )


def _claimed_value(lines: list[ClaimLine]) -> int:
    """What the claimed quantities are worth at the reference prices (as holdbacks values them)."""
    return sum(
        jpy_value(line.claimed_quantity, line.asset.reference_price_jpy)
        for line in lines
        if line.asset.reference_price_jpy is not None
    )


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
            _("An Idempotency-Key of 1-128 characters is required."),
            extra={"fields": {"Idempotency-Key": [_("required, at most 128 characters")]}},
        )
    actor = customer.user  # the signed-in user the view passed along (no query when it is cached)
    # One customer's filings queue behind each other: the checks below cannot race.
    customer = locked(Customer.objects).get(pk=customer.pk)
    fingerprint = _request_fingerprint(incident=incident, lines=lines, payout=payout)
    # One query for both checks: a claim filed with this key, and an active claim for this incident.
    mine = list(
        Claim.objects.filter(
            Q(idempotency_key=idempotency_key) | (Q(incident=incident) & ~Q(status=Claim.Status.REJECTED)),
            customer=customer,
        ).order_by("pk")
    )
    existing = next((c for c in mine if c.idempotency_key == idempotency_key), None)
    if existing is not None:
        if existing.request_fingerprint != fingerprint:
            raise Conflict(
                "idempotency_key_reused",
                _("This Idempotency-Key was used for a different request; use a new key for a new claim."),
            )
        return ClaimFiled(existing, created=False)
    _check_window(incident)
    active = next((c for c in mine if c.incident_id == incident.pk and c.status != Claim.Status.REJECTED), None)
    if active is not None:
        raise Conflict(
            "claim_exists",
            _("You already have claim %(ref)s for %(code)s.") % {"ref": active.ref, "code": incident.code},
            extra={"ref": active.ref},
        )
    resolved = _lines_resolve(customer=customer, incident=incident, lines=lines)
    payout_values = payout_resolve(incident=incident, payout=payout)
    claim = Claim(
        ref=_new_ref(),
        incident=incident,
        customer=customer,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        language=language if language in {"ja", "en"} else "ja",
    )
    # The lines' values and the claim's amount are computed before anything is written: one INSERT each.
    claim_lines = [_line_new(claim, r) for r in resolved]
    amounts_apply(claim, claim_lines)
    claim.save(force_insert=True)
    ClaimLine.objects.bulk_create(claim_lines)
    choice = payout_write(claim=claim, resolved=payout_values, new=True)
    choice_guard(choice=choice, customer=customer, changed=False)
    entry = timeline_add(claim, Claim.Status.SUBMITTED)
    with files_removed_on_error() as written:
        stored = evidence_store(claim=claim, files=evidence, cleanup=written)
        # Last, because both take the audit trail's head lock and hold it until commit (every writer of the
        # system queues on it): the holdback's event and the claim's own, and nothing else after them.
        holdbacks_push(
            claims=[claim],
            claimed_values={claim.pk: _claimed_value(claim_lines)},
        )
        _claim_filed_record(
            claim=claim,
            actor=actor,
            customer=customer,
            lines=claim_lines,
            choice=choice,
            stored=stored,
            key=idempotency_key,
        )
    notify(claim, "filed")
    _relations_known(claim=claim, lines=claim_lines, entry=entry, stored=stored, choice=choice, payout=payout_values)
    return ClaimFiled(claim, created=True)


def _relations_known(
    *,
    claim: Claim,
    lines: list[ClaimLine],
    entry: Any,
    stored: list[Evidence],
    choice: PayoutChoice,
    payout: dict[str, Any],
) -> None:
    """Give the new claim the relations this filing just wrote, so the answer is not read back (7 queries)."""
    claim._prefetched_objects_cache = {  # type: ignore[attr-defined]
        "lines": _known(claim.lines.all(), lines),
        "timeline": _known(claim.timeline.all(), [entry]),
        "evidence": _known(claim.evidence.all(), list(stored)),
    }
    Claim.appeal.related.set_cached_value(claim, None)
    if not payout.get("addresses"):
        choice._prefetched_objects_cache = {"addresses": _known(choice.addresses.all(), [])}  # type: ignore[attr-defined]


def _known(queryset: Any, rows: list[Any]) -> Any:
    """The queryset with its rows already in hand, as Django's prefetch_related leaves it."""
    queryset._result_cache = rows
    queryset._prefetch_done = True
    return queryset


def _claim_filed_record(
    *,
    claim: Claim,
    actor: Any,
    customer: Customer,
    lines: list[ClaimLine],
    choice: PayoutChoice,
    stored: list[Evidence],
    key: str,
) -> None:
    """The audit event of a new claim. Caller's transaction."""
    event_record(
        actor=actor,
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
                "lines": lines_state_of(lines),
                "payout": payout_masked(choice),
                "evidence": [e.sha256 for e in stored],
            },
            "idempotency_key": key,
        },
    )


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
    claim = claim_lock_for_customer(customer=customer, claim=claim)
    if claim.status != Claim.Status.INFO_REQUESTED:
        raise ApplicationError(
            "no_information_requested", _("Claim %(ref)s is not waiting for information.") % {"ref": claim.ref}
        )
    if not lines and not evidence and not message.strip():
        raise InvalidInput(
            "invalid", _("Edit a line, add a file or write a note."), extra={"fields": {"message": [_("required")]}}
        )
    before = lines_state(claim)
    if lines:
        _lines_answer(customer=customer, claim=claim, lines=lines)
    amount_refresh(claim)
    claim.status = Claim.Status.UNDER_REVIEW
    claim.save(update_fields=["status", "amount_jpy", "disputed", "matches_snapshot", "updated_at"])
    holdbacks_push(claims=[claim])
    timeline_add(claim, Claim.Status.UNDER_REVIEW, message.strip())
    with files_removed_on_error() as written:
        stored = evidence_store(claim=claim, files=evidence, cleanup=written)
        event_record(
            actor=customer.user,
            action="claim.information_provided",
            subject=claim,
            data={
                "before": {"status": Claim.Status.INFO_REQUESTED, "lines": before},
                "after": {
                    "status": claim.status,
                    "lines": lines_state(claim),
                    "evidence": [e.sha256 for e in stored],
                },
                "reason": message.strip(),
            },
        )
    return claim


def _lines_answer(*, customer: Customer, claim: Claim, lines: list[ClaimLineInput]) -> None:
    """Apply the lines a customer sent with an answer; the others keep what was claimed. Caller holds the claim lock."""
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
            _line_new(claim, r).save()
        elif line.claimed_quantity != r["claimed"] or line.reason != r["reason"]:
            line.claimed_quantity = line.approved_quantity = r["claimed"]
            line.reason = r["reason"]
            line.adjustment_reason = ""
            line.save(update_fields=["claimed_quantity", "approved_quantity", "reason", "adjustment_reason"])
