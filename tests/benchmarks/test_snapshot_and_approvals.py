import pytest

from audit.log.verify import log_verify
from claims.models import Customer, Holding, Incident
from tests.support.bench import bench_json

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_bench_snapshot_prints_one_json_line_and_cleans_up():
    result = bench_json("snapshot", "--rows", "400", "--naive-rows", "40")
    assert {"bench", "n", "seconds", "fast_per_s", "naive_per_s", "ratio"} <= result.keys()
    assert result["bench"] == "snapshot"
    assert result["n"] == 400
    assert result["fast_per_s"] > 0 and result["naive_per_s"] > 0
    assert result["ratio"] == pytest.approx(result["fast_per_s"] / result["naive_per_s"], rel=0.01)
    assert not Incident.objects.exists()
    assert not Customer.objects.exists()
    assert not Holding.objects.exists()
    assert log_verify().ok


def test_bench_approvals_prints_one_json_line_and_cleans_up():
    from django.contrib.auth import get_user_model

    from audit.models import Event
    from claims.models import Claim, ClaimBatch

    users_before = get_user_model().objects.count()
    result = bench_json("approvals", "--claims", "60", "--naive-claims", "5")
    assert {"bench", "n", "seconds", "fast_per_s", "naive_per_s", "ratio"} <= result.keys()
    assert result["bench"] == "approvals" and result["n"] == 60 and result["naive_n"] == 5
    assert result["audit_events"] >= 60
    assert result["ratio"] == pytest.approx(result["fast_per_s"] / result["naive_per_s"], rel=0.01)
    assert Event.objects.filter(action="claim.approve").count() == 65  # every claim's event stays in the trail
    assert not Claim.objects.exists() and not ClaimBatch.objects.exists()
    assert not Incident.objects.exists() and not Customer.objects.exists()
    assert get_user_model().objects.count() == users_before
    assert log_verify().ok
