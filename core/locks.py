"""Row locks: the two ways every write path locks rows, and the one lock order of the whole system.

    claim = locked(Claim.objects).get(pk=claim_id)                  # lock, then check, then change
    rows = locked(Claim.objects.filter(batch=batch)).order_by("pk")  # many rows: always in id order
    batch = locked_skipping(Entitlement.objects.filter(...))[:2000]  # workers sharing a queue of rows

Locks are FOR NO KEY UPDATE of the named table only (`of=("self",)`): they
exclude other writers of the row but not the foreign-key checks of inserts
that merely point at it (a payout inserted for a fund, a transfer for an
account), which a plain FOR UPDATE would block and, at commit, deadlock.
SQLite (the embedded profile) ignores row locks; its writers queue on the
database lock (settings: transaction_mode IMMEDIATE).

The lock order. A transaction takes the locks it needs in this order, and
never an earlier one while it holds a later one; rows of one table are taken
in id order. Two transactions can then wait for each other but never deadlock.

 1. claims.ActivationToken     activation, then its customer (2)
 2. claims.Customer            filing a claim (one customer's filings queue); kana imports by id
 3. claims.ClaimBatch          bulk approval
 4. claims.Claim               by id; one claim or a batch's claims
 5. claims.PayoutChoice        under its claim (4): a holder-name decision
 6. claims.PayoutCorrection    one by id for its review, or SKIP LOCKED to send it again (then
                               reserves' Payout, 17, through payout_resend)
 7. claims.Incident            after its claims (prices fixed at the first approval); alone for
                               declaring, pricing, elections and moving it along
 8. claims.IncidentAsset       a price change, under its incident (7)
 9. claims.Invitation          SKIP LOCKED batches; nothing else held
10. reserves.ReserveFunding    maker-checker decisions
11. reserves.IncidentFund      FOR NO KEY UPDATE for a new allocation round, FOR SHARE while a
                               chunk allocates (so a new round waits for running chunks)
12. reserves.InsurancePolicy   by id, under the fund (11)
13. reserves.RecoveryClaim     by id, under the fund (11)
14. reserves.Entitlement       SKIP LOCKED chunks behind the round, or one by claim reference
15. reserves.Holdback          by id: as claims reports a claim's change (under the claim, 4), after the
                               entitlements they follow (registration, raises) or the fund (11, settings)
16. reserves.ZenginFile,       a sent file while its result file is imported (imports of one file
    reserves.WalletBatch       queue here), then its payouts (17)
17. reserves.Payout            by id (retry, lease, results, receipts), or SKIP LOCKED
18. reserves.Account           ledger accounts, by id (transfers_post; a payment locks its funds' accounts
                               before it marks payouts paid, reserves.engine.results)
    reserves figures            PayoutFigure and FundFigure rows, written by the triggers of payout,
                               entitlement and holdback writes: after the accounts (18), never before them
19. audit tree head            always last: event_record and receipts take it and hold it to commit
    audit.SigningKey            signing a checkpoint, in a transaction of its own (nothing else held)

The hand-off from claims to reserves (entitlements for approved claims) runs in its own
transaction after the approval commits. The paths that hold a claims lock while they take
reserves ones follow this order: a claim's change reported as its holdback (4 → 15) and
sending a reviewed correction again (6 → 17).
"""

from typing import TypeVar

from django.db.models import Manager, Model, QuerySet

M = TypeVar("M", bound=Model)


def locked(rows: QuerySet[M] | Manager[M]) -> QuerySet[M]:
    """The rows, locked FOR NO KEY UPDATE (this table only) when read. Caller holds a transaction."""
    return rows.select_for_update(of=("self",), no_key=True)


def locked_skipping(rows: QuerySet[M] | Manager[M]) -> QuerySet[M]:
    """Like `locked`, skipping rows another transaction holds: workers share a queue of rows this way."""
    return rows.select_for_update(of=("self",), no_key=True, skip_locked=True)
