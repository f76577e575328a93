"""The payout engine: from registered entitlements to paid payouts, in rounds and chunks.

    allocation  a round: the waterfall over the loss basis, the reserve's tranche drawn, insurers' recoveries
                opened, the level every claimant is brought up to (one round at a time per fund)
    population  the population the rates are computed over, and the level the funds reach over it
    pool        what was drawn into an incident's pool, and which sources each payout's money came from
    chunks      one transaction per chunk of entitlements behind the round: targets, payouts, the ledger
    dispatch    leasing due payouts and sending them through their rails, outside any transaction
    results     recording the rails' answers in one UPDATE: paid (ledger, claims told, receipts), submitted,
                returned, retry with backoff, failed
    sweeps      the beat task's safety net: funds left behind, due payouts nobody is sending

Tasks (reserves/tasks.py) run these; services queue them after commit through core.dispatch.
Lock order: core/locks.py. Design and figures: docs/architecture.md, docs/benchmarks.md.
"""

from reserves.engine.allocation import allocation_run
from reserves.engine.chunks import Chunk, payouts_allocate_chunk
from reserves.engine.dispatch import instructions_send, payouts_dispatch, payouts_lease
from reserves.engine.results import payouts_mark_paid, payouts_record
from reserves.engine.sweeps import payouts_send_due, payouts_sweep

__all__ = [
    "Chunk",
    "allocation_run",
    "instructions_send",
    "payouts_allocate_chunk",
    "payouts_dispatch",
    "payouts_lease",
    "payouts_mark_paid",
    "payouts_record",
    "payouts_send_due",
    "payouts_sweep",
]
