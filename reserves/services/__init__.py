"""Writes of the reserves app, one module per capability. Public services are one durable transaction unless they
say they run inside the caller's transaction (the hand-off from claims does).

    funding         the liability reserve: fundings and replenishments (maker-checker), the custody value
    policies        insurance policies and their ledger accounts
    funds           an incident's fund: opened, configured, held and released
    entitlements    what approved claims are owed and where each claimant is paid (the contract with claims)
    holdbacks       what claims still open may be allowed, counted in every interim rate (told by claims)
    recoveries      insurer recoveries: notice, proof of loss, settlement or denial, deadline warnings
    payout_actions  staff retry of failed payouts
    returns         payouts that came back: the money back, one resend to corrected details
    result_imports  the bank's and the wallet system's result files, payout by payout
    unclaimed       money nobody could receive by the deadline, held for deposit
    receipts        one signed receipt per paid payout, after the payment commits
    liabilities     an incident's proof of liabilities over its registered entitlements

The payout engine (allocation, chunks, sending, results) is reserves/engine/.
"""

from reserves.services.entitlements import (
    EntitlementInput,
    EntitlementLine,
    PayeeInput,
    entitlement_eligible_raise,
    entitlement_payee_apply,
    entitlement_payee_update,
    entitlements_register,
)
from reserves.services.funding import (
    custody_value_record,
    funding_allowed_actions,
    funding_approve,
    funding_reject,
    funding_request,
)
from reserves.services.funds import (
    fund_allowed_actions,
    fund_payments_started,
    incident_fund_configure,
    incident_fund_hold,
    incident_fund_open,
)
from reserves.services.holdbacks import HoldInput, holdbacks_set
from reserves.services.liabilities import incident_liabilities_publish
from reserves.services.payout_actions import payout_allowed_actions, payouts_retry
from reserves.services.policies import PolicyInput, policy_register
from reserves.services.receipts import payout_receipts_issue, payout_receipts_sweep
from reserves.services.recoveries import (
    recoveries_follow_up,
    recovery_allowed_actions,
    recovery_deny,
    recovery_notice_record,
    recovery_proof_record,
    recovery_settle,
)
from reserves.services.result_imports import result_import
from reserves.services.returns import payout_resend, payouts_mark_returned
from reserves.services.unclaimed import unclaimed_sweep

__all__ = [
    "EntitlementInput",
    "EntitlementLine",
    "HoldInput",
    "PayeeInput",
    "PolicyInput",
    "custody_value_record",
    "entitlement_eligible_raise",
    "entitlement_payee_apply",
    "entitlement_payee_update",
    "entitlements_register",
    "fund_allowed_actions",
    "fund_payments_started",
    "funding_allowed_actions",
    "funding_approve",
    "funding_reject",
    "funding_request",
    "holdbacks_set",
    "incident_fund_configure",
    "incident_fund_hold",
    "incident_fund_open",
    "incident_liabilities_publish",
    "payout_allowed_actions",
    "payout_receipts_issue",
    "payout_receipts_sweep",
    "payout_resend",
    "payouts_mark_returned",
    "payouts_retry",
    "policy_register",
    "recoveries_follow_up",
    "recovery_allowed_actions",
    "recovery_deny",
    "recovery_notice_record",
    "recovery_proof_record",
    "recovery_settle",
    "result_import",
    "unclaimed_sweep",
]
