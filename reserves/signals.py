"""What reserves tells the app above it (claims) about payouts; claims connects its receivers in ClaimsConfig.ready().

Both are sent INSIDE the database transaction that changes the payouts, so a
receiver's writes commit or roll back with them. Receivers must be quick and
must not call a payment rail or send mail directly: they queue their work
after commit (core.dispatch.enqueue_after_commit).

payouts_paid(sender=Payout, claim_refs)
    Once per batch of payouts that became paid: their claim references
    (claims marks those claims paid, after commit).

payout_returned(sender=Payout, claim_ref, payout_id, amount_jpy, reason_code, reason)
    A disbursement came back (the payee's bank or wallet refused it, or a later
    return). Its money is back in the incident's allocated account; the
    customer is to be asked for corrected details (claims does, after commit).
"""

from django.dispatch import Signal

payouts_paid = Signal()
payout_returned = Signal()
