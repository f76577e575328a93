"""`bench web` on a tiny data set: gunicorn and locust really run, the JSON line carries the figures."""

import socket

import pytest

from audit.log.verify import log_verify
from claims.models import Claim
from tests.support.bench import bench_json

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_bench_web_files_claims_through_gunicorn_and_prints_one_json_line(settings):
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("bench web needs PostgreSQL")
    result = bench_json(
        "web",
        "--customers",
        "60",
        "--users",
        "4",
        "--seconds",
        "8",
        "--page-users",
        "4",
        "--page-seconds",
        "5",
        "--regulator-users",
        "2",
        "--regulator-seconds",
        "4",
        "--naive-seconds",
        "3",
        "--workers",
        "1",
        "--port",
        str(_free_port()),
    )
    assert {"bench", "n", "seconds", "fast_per_s", "naive_per_s", "ratio"} <= result.keys()
    assert result["bench"] == "web" and result["n"] == 60
    assert result["errors"] == 0 and result["pages_errors"] == 0
    # Bounded in count: the 54 customers of the surge's share file once each (6 are the naive run's).
    assert 0 < result["filed"] <= 54
    # What a filing cost each tier, from the processes' CPU counters: the server's did work for every filing.
    assert result["surge_cpu"]["web_ms_per_filing"] > 0 and result["surge_cpu"]["web_cores"] > 0
    assert result["surge_cpu"]["postgres_ms_per_filing"] > 0  # the suite's PostgreSQL runs on this machine
    # Every filing locust counted is in the database (one cut off by the time limit may be there uncounted).
    assert Claim.objects.count() >= result["filed"] + (result["naive"] or {"count": 0})["count"]
    assert Claim.objects.count() <= 60
    # Short phases on a loaded machine may end before a reader gets past signing in: no error is the rule.
    regulator = result["regulator_summary"] or {"count": 0, "failures": 0}
    assert regulator["failures"] == 0
    assert log_verify().ok
