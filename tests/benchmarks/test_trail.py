"""`bench trail` (the audit trail at ten years' size) on a small trail: real inserts, the fill, verify, proofs."""

import pytest

from audit.log.verify import log_verify
from audit.models import Event
from tests.support.bench import bench_json

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_bench_trail_times_inserts_verify_and_proofs_and_prints_one_json_line():
    args = ["--events", "1800", "--batch-events", "300", "--batch", "100", "--single-events", "20"]
    result = bench_json("trail", *args, "--samples", "5", "--naive-events", "500")
    assert {"bench", "n", "seconds", "fast_per_s", "naive_per_s", "ratio", "verify_seconds", "inclusion"} <= set(result)
    assert result["bench"] == "trail" and result["n"] == 1800 == result["verify_checked"]
    assert result["insert_batched_per_s"] > 0 and result["insert_single_per_s"] > 0
    assert Event.objects.filter(action="bench.trail").count() == 300
    assert Event.objects.filter(action="bench.trail_one").count() == 20
    assert Event.objects.count() == 1800  # the rest: whole tiles by SQL and their remainder in Python
    assert log_verify().ok
