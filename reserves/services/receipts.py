"""Signed payout receipts: exactly one per paid payout, issued in bulk after the payment commits.

The payout engine marks thousands of payouts paid per transaction; signing
there would slow every payment. Instead, `engine.results.receipts_queue` (called where
payouts become paid) queues `reserves.payout_receipts_issue` on the follow-up
queue after commit, and the beat task `reserves.payout_receipts_sweep` issues
what a lost message left behind.

Exactly once, under retries and races: each chunk locks its payouts
(FOR NO KEY UPDATE, in id order) before it looks for their receipts, so a
second issuer waits and then finds them issued; the database's unique
constraint on a receipt's subject is the backstop. Lock order: payouts, then
the audit tree head (as in the engine).

A receipt's payload states the facts of one payout (docs/money.md "Payout receipts");
the signed document around it adds the receipt id, the audit sequence number,
the time and the key (audit.services.receipts_issue_many).
"""

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.checkpoints import checkpoint_create
from audit.models import Receipt
from audit.receipts import ReceiptInput, receipts_issue_many
from audit.services import Actor
from audit.signing import signer
from core.locks import locked
from core.lookups import any_of
from core.masking import account_number_masked, address_masked
from reserves.models import Payout
from reserves.selectors.receipts import SUBJECT_TYPE, payouts_without_receipt
from reserves.waterfall import rate_of

logger = logging.getLogger(__name__)

ACTOR = Actor.system("reserves:receipts")
# Receipts signed per transaction (one tree-head lock each). A transaction
# holds the tree head from its events until commit (~30 ms for 250 receipts): payments running meanwhile
# need the same lock, so short holds keep them from waiting (bench payouts with a follow-up worker running
# alongside: 16.0 s with chunks of 250, 16.7 s with 1,000, 15.9-16.3 s without receipts).
CHUNK = 250

# How the printable page labels the payload's fields (the JSON keeps the keys).
PAYLOAD_LABELS = {
    "incident_code": _("Incident"),
    "claim_ref": _("Claim reference"),
    "customer_account_id": _("Customer account"),
    "customer_name": _("Customer name"),
    "payout_id": _("Payout"),
    "round": _("Allocation round"),
    "distribution_rate": _("Distribution rate"),
    "amount_jpy": _("Amount (JPY)"),
    "by_source_jpy": _("Amount by source (JPY)"),
    "method": _("Payment method"),
    "rail": _("Payment rail"),
    "rail_reference": _("Rail reference"),
    "payee": _("Paid to"),
    "in_kind": _("Paid in kind"),
    "paid_at": _("Paid at"),
}


def _payee_masked(method: str, payee: dict) -> dict[str, Any]:
    if method == "bank":
        return {
            "bank_code": payee.get("bank_code", ""),
            "branch_code": payee.get("branch_code", ""),
            "account_type": payee.get("account_type", ""),
            "account_number": account_number_masked(payee.get("account_number", "")),
            "holder_kana": payee.get("holder_kana", ""),
        }
    return {"addresses": {symbol: address_masked(a) for symbol, a in sorted(payee.get("addresses", {}).items())}}


_PAYLOAD_FIELDS = (
    "id",
    "claim_ref",
    "amount_jpy",
    "breakdown",
    "method",
    "rail",
    "rail_reference",
    "in_kind",
    "paid_at",
    "fund__incident_code",
    "entitlement__customer_account_id",
    "entitlement__customer_name",
    "entitlement__payee",
    "allocation__seq",
    "allocation__level_jpy",
    "allocation__loss_basis_jpy",
)


def _payload(row: tuple) -> dict[str, Any]:
    """The facts a payout's receipt states; never a full account number."""
    (pk, claim_ref, amount, breakdown, method, rail, reference, in_kind, paid_at, incident_code) = row[:10]
    account_id, name, payee, seq, level, loss_basis = row[10:]
    return {
        "incident_code": incident_code,
        "claim_ref": claim_ref,
        "customer_account_id": account_id,
        "customer_name": name,
        "payout_id": pk,
        "round": seq,
        "distribution_rate": str(rate_of(level, loss_basis)),
        "amount_jpy": amount,
        "by_source_jpy": dict(breakdown),
        "method": method,
        "rail": rail,
        "rail_reference": reference,
        "payee": _payee_masked(method, payee),
        "in_kind": [
            {"symbol": line["symbol"], "quantity": line["quantity"], "address": address_masked(line.get("address", ""))}
            for line in in_kind
        ],
        "paid_at": paid_at,
    }


@transaction.atomic(durable=True)
def _receipts_issue_chunk(*, payout_ids: list[int]) -> int:
    """Lock the payouts (id order), then sign a receipt for each paid one that has none. Returns how many."""
    paid = list(
        locked(Payout.objects)
        .filter(any_of("pk", payout_ids), status=Payout.Status.PAID)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not paid:
        return 0
    issued = set(
        Receipt.objects.filter(any_of("subject_id", [str(pk) for pk in paid]), subject_type=SUBJECT_TYPE)
        .order_by()  # a set: not sorted by the model's newest-first
        .values_list("subject_id", flat=True)
    )
    wanted = [pk for pk in paid if str(pk) not in issued]
    if not wanted:
        return 0
    rows = Payout.objects.filter(any_of("pk", wanted)).order_by("id").values_list(*_PAYLOAD_FIELDS)
    receipts_issue_many(actor=ACTOR, items=[ReceiptInput(SUBJECT_TYPE, str(row[0]), _payload(row)) for row in rows])
    return len(wanted)


def payout_receipts_issue(*, payout_ids: Sequence[int]) -> int:
    """Issue one signed receipt per paid payout among `payout_ids` that has none yet; return how many were issued.

    Not atomic as a whole: one transaction per chunk of CHUNK payouts, each
    with one tree-head lock. Safe to run twice or concurrently: the second
    run issues nothing. Payouts not (yet) paid are skipped. Raises
    SigningKeyMissing, before writing anything, when no key is configured.
    Then signs a checkpoint, so each new receipt downloads with its inclusion proof.
    """
    signer()  # fail before taking any lock when there is no key
    ids = sorted(set(payout_ids))
    issued = sum(_receipts_issue_chunk(payout_ids=ids[start : start + CHUNK]) for start in range(0, len(ids), CHUNK))
    if issued:
        checkpoint_create()
    return issued


def payout_receipts_sweep(*, grace: dt.timedelta = dt.timedelta(minutes=2), limit: int = 50_000) -> int:
    """The safety net (celery beat): issue receipts for paid payouts that still lack one. Returns how many.

    Payouts paid within `grace` are left to the task their payment queued;
    at most `limit` per run, so a run stays well inside the task time limit.
    """
    waiting = payouts_without_receipt(paid_before=timezone.now() - grace).values_list("id", flat=True)[:limit]
    return payout_receipts_issue(payout_ids=list(waiting))


# --- Reading ---------------------------------------------------------------------------------------
