"""Running a benchmark from a test: `manage.py bench NAME ARGS` in-process, its one JSON line parsed."""

import io
import json
from typing import Any

from django.core.management import call_command


def bench_json(name: str, *args: str) -> dict[str, Any]:
    """Run `bench NAME ARGS` (its progress bars to a discarded stderr) and return the JSON line it printed.

    Raises when stdout holds anything but one JSON document.
    """
    out = io.StringIO()
    call_command("bench", name, *args, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue().strip())
