"""What reserves tells the apps above it (claims) about payouts. Connect receivers in their AppConfig.ready().

All three are sent INSIDE the database transaction that changes the payout,
so a receiver's writes commit or roll back with it. Receivers must be quick
(they run for every payout of a batch) and must not call a payment rail or
send mail directly: use transaction.on_commit for side effects.

payout_paid(sender=Payout, claim_ref, payout_id, amount_jpy, breakdown, rail_reference)
    A disbursement reached the claimant. `breakdown` maps each source to the
    yen it bore: {"reserve": 900, "policy:TM-1": 100}; its values add up to amount_jpy.

payout_failed(sender=Payout, claim_ref, payout_id, reason)
    A disbursement failed for good (permanent rejection, or PAYOUT_MAX_ATTEMPTS
    attempts); staff can retry it, which may later send payout_paid.

payout_returned(sender=Payout, claim_ref, payout_id, amount_jpy, reason_code, reason)
    A disbursement came back (the payee's bank or wallet refused it, or a later
    return). Its money is back in the incident's allocated account; the
    customer is to be asked for corrected details (claims does, after commit).

payouts_paid(sender=Payout, claim_refs)
    Once per batch of payouts that became paid (after the per-payout
    payout_paid signals): the claim references, for receivers that want one
    call per batch (claims marks its claims paid from here, after commit).

payout_completed(sender=Payout, receipt)
    The hook for signed payout receipts: sent right after payout_paid with
    `receipt`, a `PayoutReceipt` holding every fact a receipt states. audit
    must not import reserves, so whoever issues receipts (claims, or reserves
    calling an audit service) connects here.
"""

from dataclasses import dataclass

from django.dispatch import Signal

payout_paid = Signal()
payouts_paid = Signal()
payout_failed = Signal()
payout_returned = Signal()
payout_completed = Signal()


@dataclass(frozen=True)
class PayoutReceipt:
    payout_id: int
    claim_ref: str
    incident_code: str
    customer_account_id: str
    customer_name: str
    amount_jpy: int
    breakdown: dict
    method: str
    rail: str
    rail_reference: str
    idempotency_key: str
    in_kind: list
    allocation_round: int
    distribution_rate: str
    paid_at: str  # ISO-8601, UTC

    def as_dict(self) -> dict:
        return dict(self.__dict__)
