"""The engine's safety net (celery beat): funds left behind get their allocation or chunk workers again, and due
payouts that nobody is sending (scheduled retries, orphans of a dead worker) are sent."""

from core.dispatch import enqueue
from reserves.engine.allocation import basis_seq_of, fund_lagging
from reserves.engine.dispatch import payouts_dispatch, payouts_lease
from reserves.models import Entitlement, IncidentFund


def payouts_send_due(*, fund_id: int | None = None, max_batches: int = 50) -> int:
    """Send due pending payouts nobody is sending (scheduled retries, orphans of a dead worker). Returns how many."""
    sent = 0
    for _ in range(max_batches):
        ids = payouts_lease(fund_id=fund_id)
        if not ids:
            break
        payouts_dispatch(payout_ids=ids, leased=True)
        sent += len(ids)
    return sent


def payouts_sweep() -> dict[str, int]:
    """The periodic safety net: queue allocation or drainers for funds behind, send orphaned due payouts."""
    queued = 0
    for fund in IncidentFund.objects.filter(on_hold=False):
        if Entitlement.objects.filter(fund=fund, admitted_round__isnull=True).exists():
            enqueue("reserves.incident_allocate", fund.incident_code, "sweep")
            queued += 1
        elif fund.round and fund_lagging(fund.pk, basis_seq_of(fund)):
            enqueue("reserves.payouts_process", fund.pk)
            queued += 1
    return {"queued": queued, "sent": payouts_send_due()}
