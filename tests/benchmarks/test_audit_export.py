import io
import json

import pytest
from django.core.management import call_command

from audit.log.verify import log_verify
from audit.models import Event

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_bench_audit_export_prints_one_json_line():
    out = io.StringIO()
    call_command("bench", "audit_export", "--rows", "1500", "--naive-rows", "500", stdout=out, stderr=io.StringIO())

    result = json.loads(out.getvalue().strip())
    assert {"bench", "n", "seconds", "fast_per_s", "naive_per_s", "ratio", "fast_peak_mb"} <= result.keys()
    assert result["bench"] == "audit_export"
    assert result["n"] == 1501  # the filler events and the benchmark's own regulator.viewed event
    assert result["naive_n"] == 500
    assert Event.objects.filter(action="bench.filler").count() == 1500
    assert log_verify().ok
