"""Reads of payout receipts: a claim's receipts (for its owner and staff), a payout's, payouts still without one."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import CharField, Exists, OuterRef, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import Receipt
from audit.receipts import receipt_proof
from core.errors import NotFound
from reserves.models import Payout

SUBJECT_TYPE = Payout._meta.label_lower  # "reserves.payout", as audit.services.subject_of names a payout


@dataclass(frozen=True)
class ReceiptSummary:
    """What a list of receipts shows, read from the signed document."""

    receipt: Receipt
    payout_id: int
    round: int
    amount_jpy: int
    by_source_jpy: dict[str, int]
    paid_at: dt.datetime
    issued_at: dt.datetime
    audit_seq: int

    @property
    def id(self) -> str:
        return str(self.receipt.id)


def _summary(receipt: Receipt) -> ReceiptSummary:
    payload = receipt.document["payload"]
    return ReceiptSummary(
        receipt=receipt,
        payout_id=payload["payout_id"],
        round=payload["round"],
        amount_jpy=payload["amount_jpy"],
        by_source_jpy=payload["by_source_jpy"],
        paid_at=dt.datetime.fromisoformat(payload["paid_at"]),
        issued_at=receipt.issued_at,
        audit_seq=receipt.document["audit_seq"],
    )


def payout_receipts_for_claim(*, claim_ref: str) -> list[ReceiptSummary]:
    """The receipts of a claim's payouts, oldest payout first (found through the entitlement's unique index)."""
    payout_ids = [
        str(pk)
        for pk in Payout.objects.filter(entitlement__claim_ref=claim_ref, status=Payout.Status.PAID)
        .order_by("id")
        .values_list("id", flat=True)
    ]
    receipts = {r.subject_id: r for r in Receipt.objects.filter(subject_type=SUBJECT_TYPE, subject_id__in=payout_ids)}
    return [_summary(receipts[pk]) for pk in payout_ids if pk in receipts]


def payout_receipt_for_claim(*, claim_ref: str, receipt_id: str) -> Receipt:
    """One receipt of the claim's payouts; NotFound for any other id (another claim's receipt included)."""
    for summary in payout_receipts_for_claim(claim_ref=claim_ref):
        if summary.id == str(receipt_id):
            return summary.receipt
    raise NotFound("not_found", _("No such receipt."))


def payout_receipt_get(*, payout_id: int) -> Receipt:
    receipt = Receipt.objects.filter(subject_type=SUBJECT_TYPE, subject_id=str(payout_id)).first()
    if receipt is None:
        raise NotFound("not_found", _("This payout has no receipt yet."))
    return receipt


def receipt_ids_for_payouts(*, payout_ids: Sequence[int]) -> dict[int, str]:
    """payout id -> receipt id, for the payouts among `payout_ids` that have a receipt (one query)."""
    return {
        int(subject_id): str(receipt_id)
        for subject_id, receipt_id in Receipt.objects.filter(
            subject_type=SUBJECT_TYPE, subject_id__in=[str(pk) for pk in payout_ids]
        ).values_list("subject_id", "id")
    }


def payouts_without_receipt(*, paid_before: dt.datetime | None = None) -> QuerySet[Payout]:
    """Paid payouts that have no receipt (paid before `paid_before`, if given), oldest first."""
    receipts = Receipt.objects.filter(
        subject_type=SUBJECT_TYPE, subject_id=Cast(OuterRef("pk"), output_field=CharField())
    )
    queryset = Payout.objects.filter(status=Payout.Status.PAID).filter(~Exists(receipts))
    if paid_before is not None:
        queryset = queryset.filter(paid_at__lt=paid_before)
    return queryset.order_by("id")


def _japan_time(value: Any) -> str:
    """An ISO time of the document as Japan time, "2026-12-01 12:13 JST" ("" when missing or unreadable)."""
    if not value:
        return ""
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    return moment.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M JST")


def _source_name(source: str) -> str:
    if source == "reserve":
        return str(_("The exchange's liability reserve"))
    if source.startswith("policy:"):
        return str(_("Insurance policy %(number)s") % {"number": source.removeprefix("policy:")})
    return source


def _method_in_words(payload: dict[str, Any]) -> str:
    method, payee = payload.get("method", ""), payload.get("payee") or {}
    if method == "bank":
        kind = {"1": _("ordinary"), "2": _("current"), "4": _("savings")}.get(payee.get("account_type", ""), "")
        return str(
            _("Bank transfer to bank %(bank)s, branch %(branch)s, %(kind)s account %(number)s, holder %(holder)s")
            % {
                "bank": payee.get("bank_code", ""),
                "branch": payee.get("branch_code", ""),
                "kind": kind,
                "number": payee.get("account_number", ""),
                "holder": payee.get("holder_kana", ""),
            }
        )
    if method == "exchange":
        return str(_("Credit to your account at the exchange"))
    if method == "crypto":
        lines = [
            f"{line['quantity']} {line['symbol']} → {line.get('address', '')}" for line in payload.get("in_kind", [])
        ]
        return str(_("Paid in kind: %(lines)s") % {"lines": "; ".join(lines)})
    return method


@dataclass(frozen=True)
class ReceiptFacts:
    """A payout receipt as people read it (the signed JSON keeps its own keys)."""

    title: str
    rows: list[tuple[str, str]]  # (label, value), in the reader's language
    technical: list[tuple[str, str]]


def receipt_facts(document: dict[str, Any], *, proof_included: bool) -> ReceiptFacts:
    """The facts of a payout receipt in words: names, yen by source, the method, Japan time, the proof's state."""
    payload = document.get("payload") or {}
    amount = payload.get("amount_jpy")
    rows = [
        (str(_("Paid to")), f"{payload.get('customer_name', '')} ({payload.get('customer_account_id', '')})"),
        (str(_("Claim reference")), str(payload.get("claim_ref", ""))),
        (str(_("Incident")), str(payload.get("incident_code", ""))),
        (str(_("Amount paid")), f"¥{amount:,}" if isinstance(amount, int) else str(amount or "")),
    ]
    for source, part in (payload.get("by_source_jpy") or {}).items():
        rows.append((str(_("of which from %(source)s") % {"source": _source_name(source)}), f"¥{int(part):,}"))
    rows += [
        (str(_("How it was paid")), _method_in_words(payload)),
        (str(_("Paid at")), _japan_time(payload.get("paid_at"))),
        (str(_("Receipt issued at")), _japan_time(document.get("issued_at"))),
        (
            str(_("Proof")),
            str(
                _("Signed, and included in the signed audit log")
                if proof_included
                else _("Signed; its inclusion in the audit log is confirmed at the next checkpoint (minutes)")
            ),
        ),
    ]
    technical = [
        (str(_("Receipt number")), str(document.get("receipt_id", ""))),
        (str(_("Payout number")), str(payload.get("payout_id", ""))),
        (str(_("Rail reference")), str(payload.get("rail_reference", ""))),
        (str(_("Audit log event")), f"#{document.get('audit_seq', '')}"),
        (str(_("Signing key")), str(document.get("key_id", ""))),
        (str(_("Signature")), str(document.get("signature", ""))),
    ]
    return ReceiptFacts(title=str(_("Payout receipt")), rows=rows, technical=technical)


def receipt_words(receipt: Receipt) -> ReceiptFacts:
    """receipt_facts of a stored receipt, with whether a signed checkpoint covers it yet."""
    return receipt_facts(receipt.document, proof_included=receipt_proof(receipt) is not None)
