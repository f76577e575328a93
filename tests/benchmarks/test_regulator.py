"""`bench regulator` on a small data set: the figures read from the kept counters match the scans they replace."""

import pytest
from django.db import connection

from reserves.models import IncidentFund
from reserves.selectors import figures
from reserves.selectors.funds import paid_timeline
from tests.support.bench import bench_json

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_bench_regulator_prints_one_json_line_with_every_figure_read(settings):
    if connection.vendor != "postgresql":
        pytest.skip("the figures are kept by PostgreSQL triggers")
    settings.SECURE_SSL_REDIRECT = True  # as the bench runs, with DEBUG off: its reads go over HTTPS
    result = bench_json("regulator", "--payouts", "3000", "--requests", "3", "--naive-requests", "2")
    assert {"bench", "n", "seconds", "fast_per_s", "naive_per_s", "ratio"} <= result.keys()
    assert result["bench"] == "regulator" and result["n"] == 3000 and result["fund_payouts"] == 3000
    assert set(result["reads"]) == {"incident_summary", "reserve_series", "insurance_usage", "payouts_first_page"}
    fund = IncidentFund.objects.get(incident_code__startswith="bench-export-")
    assert figures.status_totals(fund=fund)["paid"][0] == 3000
    kept = paid_timeline(fund=fund)
    figures_off = pytest.MonkeyPatch()
    figures_off.setattr(figures, "maintained", lambda: False)
    try:
        assert paid_timeline(fund=fund) == kept  # first payment, days: the scan agrees with the kept figures
    finally:
        figures_off.undo()
