"""The database refuses what must never happen, even when Python is bypassed."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from claims.models import Claim, ClaimLine, Evidence, PayoutChoice

pytestmark = pytest.mark.django_db


def _refused(fn) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_quantities_cannot_go_negative(claim):
    line = claim.lines.first()
    for field in ("claimed_quantity", "approved_quantity", "snapshot_quantity"):
        _refused(lambda field=field: ClaimLine.objects.filter(pk=line.pk).update(**{field: Decimal("-0.1")}))


def test_approved_amount_cannot_be_negative(claim):
    _refused(lambda: Claim.objects.filter(pk=claim.pk).update(approved_amount_jpy=-1))


def test_idempotency_key_is_unique_per_customer(claim):
    _refused(
        lambda: Claim.objects.create(
            ref="C-TEST-0001",
            incident=claim.incident,
            customer=claim.customer,
            status="rejected",
            idempotency_key=claim.idempotency_key,
            request_fingerprint="x",
        )
    )


def test_one_active_claim_per_customer_and_incident(claim):
    _refused(
        lambda: Claim.objects.create(
            ref="C-TEST-0002",
            incident=claim.incident,
            customer=claim.customer,
            idempotency_key="other",
            request_fingerprint="x",
        )
    )


def test_an_approved_claim_needs_an_amount(claim):
    _refused(lambda: Claim.objects.filter(pk=claim.pk).update(status="paid"))


def test_at_most_ten_files_per_claim(claim):
    def eleventh() -> None:
        Evidence.objects.create(
            claim=claim, slot=11, file_name="x", content_type="application/pdf", size=1, sha256="0", storage_path="p"
        )

    _refused(eleventh)


def test_bank_payout_must_be_complete(claim):
    _refused(lambda: PayoutChoice.objects.filter(claim=claim).update(account_number="12"))
