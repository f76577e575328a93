"""`python manage.py bench lookups`: the reads bulk work makes per 5,000 claims, with `any_of` against `__in`.

The hand-off and the marking-paid read claims, payout choices and lines by claim id, and entitlements,
paid payouts and claims by reference, 5,000 at a time (claims.selectors.handoff,
reserves.selectors.handoff, claims.services.handoff). The same six reads run over every chunk of the
bench's claims, once with `field__in=values` (the naive path: a placeholder per value) and once with
`any_of(field, values)` (core.lookups: one array on PostgreSQL), alternating, best of `--repeat`.
"""

import os
import sys
import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.db.models import Q, Sum
from django.utils import timezone

from benchmarks.approvals import _cleanup, incident_with_bench_claims
from claims.models import Claim, ClaimLine, PayoutChoice
from core.lookups import any_of
from reserves.models import Entitlement, Payout

CHUNK = 5000
Filter = Callable[[str, list[Any]], Any]


def add_arguments(parser: Any) -> None:
    parser.add_argument("--claims", type=int, default=50_000, help="claims bulk-made for the reads")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of both paths (the best of each counts)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark incident and its claims")


def _in(field: str, values: list[Any]) -> Q:
    return Q(**{f"{field}__in": values})


def _reads(by: Filter, ids: list[int], refs: list[str]) -> int:
    """The six reads over every chunk; returns how many rows they found (both paths must agree)."""
    rows = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows += len(
            Claim.objects.filter(by("pk", chunk)).values_list(
                "pk", "ref", "incident__code", "customer__account_id", "approved_amount_jpy"
            )
        )
        rows += len(PayoutChoice.objects.filter(by("claim_id", chunk)).values_list("claim_id", "method"))
        rows += len(ClaimLine.objects.filter(by("claim_id", chunk)).values_list("claim_id", "approved_quantity"))
    for start in range(0, len(refs), CHUNK):
        chunk_refs = refs[start : start + CHUNK]
        rows += len(Entitlement.objects.filter(by("claim_ref", chunk_refs)).values_list("claim_ref", "eligible_jpy"))
        paid = (
            Payout.objects.filter(by("entitlement__claim_ref", chunk_refs), status=Payout.Status.PAID)
            .values("entitlement__claim_ref")
            .annotate(s=Sum("amount_jpy"))
            .order_by()
        )
        rows += len(paid.values_list("entitlement__claim_ref", "s"))
        rows += len(Claim.objects.filter(by("ref", chunk_refs)).values_list("pk", flat=True))
    return rows


def run(*, claims: int, repeat: int, keep: bool, **_: Any) -> dict[str, Any]:
    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    prefix = f"lk{stamp}-"
    incident = incident_with_bench_claims(
        code=f"bench-look-{stamp}"[:32], prefix=prefix, customers=claims, label="lookup"
    )
    try:
        pairs = list(Claim.objects.filter(incident=incident).order_by("pk").values_list("pk", "ref"))
        ids, refs = [pk for pk, _ in pairs], [ref for _, ref in pairs]
        seconds: dict[str, list[float]] = {"in": [], "any_of": []}
        found: dict[str, int] = {}
        print(f"reading {len(ids)} claims {repeat} times each way ...", file=sys.stderr)
        for _round in range(max(1, repeat)):
            for name, by in (("in", _in), ("any_of", any_of)):
                started = time.perf_counter()
                found[name] = _reads(by, ids, refs)
                seconds[name].append(time.perf_counter() - started)
        if found["in"] != found["any_of"]:
            raise RuntimeError(f"the two paths found different rows: {found}")
    finally:
        if not keep:
            print("cleaning up ...", file=sys.stderr)
            _cleanup(incident, prefix)
    fast, naive = min(seconds["any_of"]), min(seconds["in"])
    n = len(ids)
    return {
        "bench": "lookups",
        "database": connection.vendor,
        "n": n,
        "seconds": round(fast, 3),
        "fast_per_s": round(n / fast, 1),
        "naive_seconds": round(naive, 3),
        "naive_per_s": round(n / naive, 1),
        "ratio": round(naive / fast, 2),
        "saved_us_per_claim": round((naive - fast) / n * 1e6, 1),
        "reads_per_chunk": 6,
        "chunk": CHUNK,
        "rows_found": found["any_of"],
        "load": round(os.getloadavg()[0], 2),
    }
