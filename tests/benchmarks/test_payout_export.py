import pytest

from reserves.models import Payout
from reserves.selectors import ledger_reconcile
from tests.support.bench import bench_json

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_bench_payout_export_prints_one_json_line_and_the_ledger_still_reconciles():
    result = bench_json("payout_export", "--rows", "2300", "--naive-rows", "300")
    expected_keys = {"bench", "n", "seconds", "fast_per_s", "naive_per_s", "ratio", "fast_peak_mb", "naive_peak_mb"}
    assert expected_keys <= result.keys()
    assert result["bench"] == "payout_export"
    assert result["n"] == 2300 and result["inserted"] == 2300 and result["naive_n"] == 300
    assert result["ratio"] == pytest.approx(result["fast_per_s"] / result["naive_per_s"], rel=0.01)
    assert Payout.objects.filter(status="paid").count() == 2300
    report = ledger_reconcile()
    assert report.ok, report.problems

    again = bench_json("payout_export", "--rows", "2000", "--naive-rows", "10")
    assert again["inserted"] == 0  # enough rows already: nothing added
