"""`bench lookups`: both paths read the same rows; one JSON line; the bench's claims are removed."""

import pytest

from claims.models import Claim, Incident
from tests.support.bench import bench_json

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_bench_lookups_prints_one_json_line_and_cleans_up():
    result = bench_json("lookups", "--claims", "120", "--repeat", "2")
    assert {"bench", "n", "seconds", "fast_per_s", "naive_per_s", "ratio"} <= result.keys()
    assert result["bench"] == "lookups" and result["n"] == 120
    # Each claim: itself twice (by id, by reference), its payout choice and its two lines; no entitlement yet.
    assert result["rows_found"] == 120 * 5
    assert result["ratio"] == pytest.approx(result["fast_per_s"] / result["naive_per_s"], rel=0.05)
    assert not Claim.objects.exists() and not Incident.objects.exists()
