"""Reads of payout receipts: a claim's receipts (for its owner and staff), a payout's, payouts still without one."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import CharField, Exists, OuterRef, QuerySet
from django.db.models.functions import Cast

from audit.models import Receipt
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
    raise NotFound("not_found", "No such receipt.")


def payout_receipt_get(*, payout_id: int) -> Receipt:
    receipt = Receipt.objects.filter(subject_type=SUBJECT_TYPE, subject_id=str(payout_id)).first()
    if receipt is None:
        raise NotFound("not_found", "This payout has no receipt yet.")
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
