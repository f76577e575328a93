"""An incident's pool: the money drawn into it, in order, and which sources a stretch of it came from.

Each payout's `breakdown` says which sources (the reserve, each insurance policy) paid it: the
pool is a queue of what was drawn into it, and a chunk takes its payouts' money from where the
pool's balance stands (allocation rounds, chunks and the reconciliation read it alike).
"""

from collections import defaultdict

from reserves import ledger
from reserves.models import IncidentFund, InsurancePolicy, Transfer


def draw_segments(*, fund: IncidentFund) -> list[tuple[str, int]]:
    """The money drawn into the incident's pool, in order: [("reserve", 900), ("policy:TM-1", 300), ...]."""
    reserve_id = ledger.reserve_account().id
    rows = list(
        Transfer.objects.filter(credit_account_id=fund.pool_account_id)
        .order_by("id")
        .values_list("debit_account_id", "amount_jpy")
    )
    numbers = dict(
        InsurancePolicy.objects.filter(account_id__in={a for a, _ in rows}).values_list("account_id", "policy_number")
    )
    return [("reserve" if a == reserve_id else f"policy:{numbers.get(a, a)}", amount) for a, amount in rows]


def pool_split(position: int, amount: int, segments: list[tuple[str, int]]) -> dict[str, int]:
    """Which sources the money in [position, position + amount) of the pool came from."""
    result: dict[str, int] = defaultdict(int)
    start = 0
    for key, size in segments:
        end = start + size
        overlap = min(end, position + amount) - max(start, position)
        if overlap > 0:
            result[key] += overlap
        start = end
    if sum(result.values()) != amount:
        raise RuntimeError("allocation beyond the funds drawn into the pool")
    return dict(result)
