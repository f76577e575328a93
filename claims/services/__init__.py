"""Writes of the claims app, one module per capability. Each public service is one durable transaction.

    incidents      declare an incident, its assets and prices; move it draft → open → closed → settled
    snapshot       import the balance snapshot (CSV), all or nothing
    invitations    invite every affected customer once when an incident opens
    activation     customers set a password with a one-time link
    filing         customers file a claim and answer requests for information
    payout_choice  how a claimant is paid (bank, exchange account or in kind); changes are guarded
    elections      which methods an incident offers, its default, the deadline to choose
    holder_names   the account holder's name against the registered one; a reviewer's decision
    corrections    corrected details after a payout came back, reviewed, then paid again once
    evidence       evidence files: checked, stored privately, their reading audited
    appeals        one appeal per claim, decided by someone new to it
    review         staff decisions on one claim, four-eyes approval
    bulk           a maker's batch of matching claims, approved by a checker
    holdbacks      the most each undecided or appealable claim may still be allowed, told to reserves
    handoff        approved claims to reserves, payments back (the contract with reserves)
    figures        recount the claims per incident and status that PostgreSQL keeps

Callers use this package (`from claims import services`); modules inside it import
each other by their own names. `_shared` holds what several of them need.
"""

from claims.services.activation import ACTIVATION_INVALID, activation_links_send, customer_activate
from claims.services.appeals import claim_appeal, claim_is_appealable
from claims.services.bulk import batch_allowed_actions, claim_batch_approve, claim_batch_create
from claims.services.corrections import (
    payout_correction_request,
    payout_correction_review,
    payout_corrections_apply,
    returned_payout_for,
)
from claims.services.elections import elections_follow_up, incident_election_configure
from claims.services.evidence import claim_evidence_add, evidence_access_record, evidence_is_open
from claims.services.figures import claim_figures_rebuild
from claims.services.filing import ClaimFiled, ClaimLineInput, claim_file, claim_respond
from claims.services.handoff import claims_hand_off, claims_hand_off_sweep, claims_paid_sync, claims_payments_sync
from claims.services.holdbacks import appeal_windows_close, hold_amount, holdbacks_push, holdbacks_refresh
from claims.services.holder_names import customer_kana_import, payout_name_accept
from claims.services.incidents import (
    INCIDENT_TRANSITIONS,
    AssetInput,
    incident_asset_add,
    incident_asset_price_set,
    incident_declare,
    incident_prices_lock,
    incident_transition,
)
from claims.services.invitations import invitations_prepare, invitations_release_sending, invitations_send_batch
from claims.services.payout_choice import (
    PayoutInput,
    claim_payout_set,
    cooling_off_end,
    payout_is_locked,
    payout_masked,
)
from claims.services.review import (
    DECISIONS,
    IRREVERSIBLE_DECISIONS,
    LineAdjustment,
    approvals_needed,
    check_may_approve,
    claim_allowed_actions,
    claim_approve,
    claim_decide,
    claim_info_request,
    claim_is_decided,
    claim_line_adjust,
    claim_makers,
    claim_recommend,
    claim_reject,
    claim_verify,
    required_approvals_for,
)
from claims.services.snapshot import SnapshotImportResult, SnapshotRejected, snapshot_import

__all__ = [
    "ACTIVATION_INVALID",
    "DECISIONS",
    "INCIDENT_TRANSITIONS",
    "IRREVERSIBLE_DECISIONS",
    "AssetInput",
    "ClaimFiled",
    "ClaimLineInput",
    "LineAdjustment",
    "PayoutInput",
    "SnapshotImportResult",
    "SnapshotRejected",
    "activation_links_send",
    "appeal_windows_close",
    "approvals_needed",
    "batch_allowed_actions",
    "check_may_approve",
    "claim_allowed_actions",
    "claim_appeal",
    "claim_approve",
    "claim_batch_approve",
    "claim_batch_create",
    "claim_decide",
    "claim_evidence_add",
    "claim_figures_rebuild",
    "claim_file",
    "claim_info_request",
    "claim_is_appealable",
    "claim_is_decided",
    "claim_line_adjust",
    "claim_makers",
    "claim_payout_set",
    "claim_recommend",
    "claim_reject",
    "claim_respond",
    "claim_verify",
    "claims_hand_off",
    "claims_hand_off_sweep",
    "claims_paid_sync",
    "claims_payments_sync",
    "cooling_off_end",
    "customer_activate",
    "customer_kana_import",
    "elections_follow_up",
    "evidence_access_record",
    "evidence_is_open",
    "hold_amount",
    "holdbacks_push",
    "holdbacks_refresh",
    "incident_asset_add",
    "incident_asset_price_set",
    "incident_declare",
    "incident_election_configure",
    "incident_prices_lock",
    "incident_transition",
    "invitations_prepare",
    "invitations_release_sending",
    "invitations_send_batch",
    "payout_correction_request",
    "payout_correction_review",
    "payout_corrections_apply",
    "payout_is_locked",
    "payout_masked",
    "payout_name_accept",
    "required_approvals_for",
    "returned_payout_for",
    "snapshot_import",
]
