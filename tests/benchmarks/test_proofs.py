import pytest

from audit.log.verify import log_verify
from audit.models import Event, Tile
from tests.support.bench import bench_json

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_bench_proofs_fills_with_sql_that_the_python_rules_agree_with_and_prints_one_json_line():
    result = bench_json("proofs", "--events", "1300", "--samples", "5", "--naive-events", "600")
    assert {
        "bench",
        "n",
        "seconds",
        "fast_per_s",
        "naive_per_s",
        "ratio",
        "api_inclusion",
        "inclusion",
    } <= result.keys()
    assert result["bench"] == "proofs" and result["n"] >= 1300 and result["naive_n"] == 600
    assert Event.objects.filter(action="bench.filler").count() == 1300  # 5 whole tiles by SQL, the rest in Python
    assert len(bytes(Tile.objects.get(level=1, index=0).hashes)) == 5 * 32
    assert log_verify().ok  # every SQL-written leaf equals the canonical entry of its event
