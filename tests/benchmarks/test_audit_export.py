import pytest

from audit.log.verify import log_verify
from audit.models import Event
from tests.support.bench import bench_json

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_bench_audit_export_prints_one_json_line():
    result = bench_json("audit_export", "--rows", "1500", "--naive-rows", "500")
    assert {"bench", "n", "seconds", "fast_per_s", "naive_per_s", "ratio", "fast_peak_mb"} <= result.keys()
    assert result["bench"] == "audit_export"
    assert result["n"] == 1501  # the filler events and the benchmark's own regulator.viewed event
    assert result["naive_n"] == 500
    assert Event.objects.filter(action="bench.filler").count() == 1500
    assert log_verify().ok
