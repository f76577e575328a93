"""Reads of the claims app, one module per audience.

    customer   the incidents that affect a customer, their holdings and claims
    staff      incidents, snapshots, the review queue, batches, a claim in full
    access     what the owner or staff may open: a claim, its files, its payout receipts
    regulator  the regulator's summary of each incident and the quarterly report's claims sections
    handoff    what reserves needs to pay approved claims (unmasked), and what it does not know yet

Callers use this package (`from claims import selectors`); the regulator's summary is
`claims.selectors.regulator`.
"""

from claims.selectors.access import claim_for_user, claim_receipt_get, claim_receipts, evidence_get
from claims.selectors.customer import (
    HoldingValue,
    claim_get_for_customer,
    claim_list_for_customer,
    customer_for_user,
    holding_values_for_customer,
    incident_get_for_customer,
    incident_list_for_customer,
)
from claims.selectors.handoff import ClaimPayoutDetail, PayoutLine, claim_payout_details, claims_awaiting_hand_off
from claims.selectors.staff import (
    REVIEW_SORTS,
    AssetSnapshotTotal,
    ReviewFilters,
    claim_batch_get,
    claim_batch_list,
    claim_get_for_staff,
    claim_list_for_review,
    claim_other_claims,
    claim_status_counts,
    incident_get,
    incident_list,
    payout_correction_list,
    snapshot_totals,
)

__all__ = [
    "REVIEW_SORTS",
    "AssetSnapshotTotal",
    "ClaimPayoutDetail",
    "HoldingValue",
    "PayoutLine",
    "ReviewFilters",
    "claim_batch_get",
    "claim_batch_list",
    "claim_for_user",
    "claim_get_for_customer",
    "claim_get_for_staff",
    "claim_list_for_customer",
    "claim_list_for_review",
    "claim_other_claims",
    "claim_payout_details",
    "claim_receipt_get",
    "claim_receipts",
    "claim_status_counts",
    "claims_awaiting_hand_off",
    "customer_for_user",
    "evidence_get",
    "holding_values_for_customer",
    "incident_get",
    "incident_get_for_customer",
    "incident_list",
    "incident_list_for_customer",
    "payout_correction_list",
    "snapshot_totals",
]
