"""`bench payouts` and `bench payouts_engine` end to end on real worker processes (small N; docs/benchmarks.md)."""

import pytest

from audit.models import Receipt
from reserves.models import Payout
from reserves.selectors import ledger_reconcile
from tests.support.bench import bench_json

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_bench_payouts_engine_prints_one_json_line_and_pays_everyone(worker_env_for):
    result = bench_json("payouts_engine", "--claims", "400", "--naive-claims", "20", "--chunk", "100")
    assert {"bench", "n", "seconds", "fast_per_s", "naive_per_s", "ratio"} <= result.keys()
    assert (result["bench"], result["n"], result["naive_n"]) == ("payouts", 400, 20)
    assert result["ratio"] == pytest.approx(result["fast_per_s"] / result["naive_per_s"], rel=0.01)
    assert Payout.objects.filter(status="paid").count() == 420
    assert ledger_reconcile().ok


def test_bench_payouts_takes_approved_claims_to_paid(worker_env_for):
    from claims.models import Claim

    result = bench_json("payouts", "--claims", "300", "--naive-claims", "10", "--chunk", "100")
    assert {"bench", "n", "seconds", "fast_per_s", "naive_per_s", "ratio"} <= result.keys()
    assert (result["bench"], result["n"], result["naive_n"]) == ("payouts", 300, 10)
    assert result["seconds"] == pytest.approx(result["hand_off_seconds"] + result["payments_seconds"], abs=0.01)
    assert result["claims_marked_paid_seconds"] > 0
    assert Claim.objects.filter(incident__code__startswith="bench-pay-", status="paid").count() == 300
    assert result["receipts_seconds"] >= result["claims_marked_paid_seconds"]
    paid = Payout.objects.filter(fund__incident_code__startswith="bench-pay-", status="paid")
    receipts = Receipt.objects.filter(subject_type="reserves.payout", subject_id__in=[str(p.pk) for p in paid])
    assert paid.count() == receipts.count() == 300
    assert Payout.objects.filter(status="paid").count() == 310
    assert ledger_reconcile().ok


def test_bench_single_approvals_pays_each_newcomer_once_on_one_curve(worker_env_for):
    result = bench_json(
        "single_approvals",
        "--registered",
        "300",
        "--singles",
        "30",
        "--naive-singles",
        "1",
        "--chunk",
        "100",
        "--coalesce",
        "0.5",
    )
    assert (result["bench"], result["registered"], result["n"], result["naive_n"]) == ("single_approvals", 300, 30, 1)
    assert 1 <= result["rounds"] < 30  # coalesced
    assert result["replay_ok"] and result["replay_payouts"] == 331  # one payout each: nobody brought up again
    assert result["ratio"] == pytest.approx(result["naive_seconds_per_approval"] * 30 / result["seconds"], rel=0.05)
    assert ledger_reconcile().ok
