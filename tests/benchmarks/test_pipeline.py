"""`bench pipeline` end to end on real worker processes at a tiny N, so the benchmark cannot rot."""

import pytest

from audit.log.verify import log_verify
from audit.models import Receipt
from claims.models import Claim, Invitation
from reserves.models import Payout
from reserves.selectors import ledger_reconcile
from tests.support.bench import bench_json

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_bench_pipeline_replays_an_incident_from_declaration_to_reconciled_books(worker_env_for):
    # One JSON line and nothing else on stdout (bench_json refuses anything else).
    result = bench_json("pipeline", "--customers", "200", "--naive-claims", "4", "--file-chunk", "50", "--chunk", "100")
    assert {"bench", "n", "seconds", "fast_per_s", "naive_per_s", "ratio"} <= result.keys()
    assert (result["bench"], result["n"], result["naive_n"]) == ("pipeline", 200, 4)
    assert (result["claims_disputed"], result["claims_approved"]) == (10, 190)  # 5 % dispute, the rest match
    fast, naive = result["claims_approved"] / result["seconds"], result["naive_n"] / result["naive_seconds"]
    assert result["ratio"] == pytest.approx(fast / naive, rel=0.01)
    assert result["seconds"] == max(result["since_approval"].values())
    assert set(result["stages"]) >= {"declare", "import", "invitations", "filing", "approval", "verify", "reconcile"}
    # invitations, "filed", "approved" and "paid": every e-mail handed to the mail backend
    assert result["emails"] == 200 + 200 + 190 + 190
    assert result["trail_ok"] and result["ledger_ok"]

    incident = "pl-"
    claims = Claim.objects.filter(incident__code__startswith=incident)
    assert claims.count() == 200
    assert claims.filter(status="paid").count() == 190
    assert claims.filter(disputed=True, status="submitted").count() == 10
    assert Invitation.objects.filter(incident__code__startswith=incident, status="sent").count() == 200
    paid = Payout.objects.filter(fund__incident_code__startswith=incident, status="paid")
    assert paid.count() == 190
    assert (
        Receipt.objects.filter(subject_type="reserves.payout", subject_id__in=[str(p.pk) for p in paid]).count() == 190
    )
    sample = Claim.objects.filter(incident__code__startswith="pn-")
    assert sample.count() == sample.filter(status="paid").count() == 4
    assert ledger_reconcile().ok and log_verify().ok
