"""Reads of the reserves app, one module per subject.

    reserve         the reserve's position against its minimum, now and per day (staff and regulators alike),
                    its movements, fundings and policies
    funds           an incident fund's panel: who bears what, paid over time, round replays
    payouts         the staff payout list, one payout, one recovery claim and the recovery deadlines
    payout_history  the regulator's payout history, its totals and exports
    insurance       the regulator's view of insurance usage
    report          the reserves part of the quarterly report
    reconcile       the ledger reconciliation
    rails           rail health, files awaiting results, returned and unclaimed payouts
    receipts        signed payout receipts of a claim or a payout
    handoff         for claims: which claims reserves knows, at what amount, what it paid on each
    liabilities     a claim's proof in its incident's newest proof of liabilities

Callers use this package for the common reads (`from reserves import selectors`) or a module by name.
"""

from reserves.selectors.funds import (
    FundFigures,
    FundSummary,
    Source,
    allocation_replay,
    fund_figures,
    fund_get,
    fund_list,
    fund_summary,
    paid_by_source,
    paid_timeline,
)
from reserves.selectors.handoff import entitlement_amounts, entitlements_by_ref, paid_for_claims, paid_payouts
from reserves.selectors.payouts import (
    PAYOUT_SORTS,
    RecoveryDeadline,
    payout_get,
    payout_list,
    recovery_deadlines,
    recovery_get,
    recovery_missing_steps,
)
from reserves.selectors.reconcile import ReconcileReport, ledger_reconcile
from reserves.selectors.reserve import (
    ReservePosition,
    funding_get,
    funding_list,
    policy_list,
    reserve_history,
    reserve_position,
    reserve_required_jpy,
    reserve_series,
)

__all__ = [
    "PAYOUT_SORTS",
    "FundFigures",
    "FundSummary",
    "ReconcileReport",
    "RecoveryDeadline",
    "ReservePosition",
    "Source",
    "allocation_replay",
    "entitlement_amounts",
    "entitlements_by_ref",
    "fund_figures",
    "fund_get",
    "fund_list",
    "fund_summary",
    "funding_get",
    "funding_list",
    "ledger_reconcile",
    "paid_by_source",
    "paid_for_claims",
    "paid_payouts",
    "paid_timeline",
    "payout_get",
    "payout_list",
    "policy_list",
    "recovery_deadlines",
    "recovery_get",
    "recovery_missing_steps",
    "reserve_history",
    "reserve_position",
    "reserve_required_jpy",
    "reserve_series",
]
