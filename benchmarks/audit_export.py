"""`python manage.py bench audit_export`: the streamed CSV export of the trail against building it in memory.

Makes sure the trail holds at least --rows events (adding `bench.filler`
events, one head lock per 10,000; they stay, the trail is append-only, so run
it against a benchmark database), then downloads /api/regulator/audit/?format=csv
through Django's test client as a regulator would, and builds the same CSV the
naive way (all rows in a list, one string, one HttpResponse) for a sample of
--naive-rows rows. Each is timed once plainly and run once more under
tracemalloc for its peak Python memory (the naive peak is also scaled to 1M rows).
"""

import csv
import io
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.http import HttpResponse
from django.test import Client
from tqdm import tqdm

from audit.export import EVENT_COLUMNS
from audit.log.append import tree_head
from audit.models import Event
from audit.services import Actor, EventInput, events_record
from core.roles import Role

CHUNK = 10_000
EXPORT_PATH = "/api/regulator/audit/"
ACTOR = Actor.system("system:bench")


def add_arguments(parser: Any) -> None:
    parser.add_argument("--rows", type=int, default=100_000, help="events the trail must hold (export size)")
    parser.add_argument("--naive-rows", type=int, default=100_000, help="rows of the in-memory sample")


def _fill(rows: int) -> None:
    missing = rows - tree_head()[0]
    with tqdm(total=max(missing, 0), desc="adding events", unit="event", file=sys.stderr) as bar:
        while missing > 0:
            n = min(CHUNK, missing)
            with transaction.atomic():
                events_record(
                    actor=ACTOR, events=[EventInput("bench.filler", "bench", str(i), {"i": i}) for i in range(n)]
                )
            missing -= n
            bar.update(n)


class HttpsClient(Client):
    """The test client over HTTPS, as production is served: with DEBUG off, plain HTTP is redirected (301)."""

    def request(self, **request: Any) -> Any:
        return super().request(**{**request, "wsgi.url_scheme": "https", "SERVER_PORT": "443"})


def regulator_client() -> Client:
    """A test client logged in as a regulator (`bench-regulator`), for benchmarks of the portal's exports."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, _ = get_user_model().objects.get_or_create(username="bench-regulator")
    user.groups.add(Group.objects.get(name=Role.REGULATOR.value))
    client = HttpsClient(HTTP_HOST="localhost")  # a name in the default ALLOWED_HOSTS
    client.force_login(user)
    return client


def streamed_download(client: Client, path: str, *, trace: bool) -> tuple[int, int, float, int]:
    """Download `path?format=csv` as a stream: (rows, bytes, seconds, peak Python memory with `trace`).

    tracemalloc slows the download down, so time one run without `trace` and measure memory in another.
    """
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    response = client.get(path, {"format": "csv"})
    if response.status_code != 200:
        raise RuntimeError(f"export answered {response.status_code}")
    size = lines = 0
    desc = "streamed export (memory traced)" if trace else "streamed export (timed)"
    with tqdm(unit="B", unit_scale=True, desc=desc, file=sys.stderr, mininterval=0.5) as bar:
        for chunk in getattr(response, "streaming_content", ()):  # a StreamingHttpResponse (status checked above)
            size += len(chunk)
            lines += chunk.count(b"\r\n")
            bar.update(len(chunk))
    seconds = time.perf_counter() - started
    peak = 0
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return lines - 1, size, seconds, peak


def _naive(rows: int, *, trace: bool) -> tuple[int, float, int]:
    """The same CSV built in memory: every row loaded, one string, one response."""
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    events = list(Event.objects.order_by("seq")[:rows])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([c.title() for c in EVENT_COLUMNS])
    for event in events:
        writer.writerow([c.value(event) for c in EVENT_COLUMNS])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv")
    seconds = time.perf_counter() - started
    peak = 0
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert len(response.content) > 0
    return len(events), seconds, peak


def export_compared(*, path: str, naive: Callable[..., tuple[int, float, int]], naive_rows: int) -> dict[str, Any]:
    """Stream `path?format=csv` as a regulator and build the same CSV with `naive(rows, trace=…)`.

    Each is timed once plainly and once under tracemalloc; returns the common JSON fields
    (sizes, rates, peaks, the naive peak scaled to 1M rows, and the ratios).
    """
    client = regulator_client()
    exported, size, seconds, _ = streamed_download(client, path, trace=False)
    _, _, _, peak = streamed_download(client, path, trace=True)
    print(f"naive export of {naive_rows} rows ...", file=sys.stderr)
    naive_n, naive_seconds, _ = naive(naive_rows, trace=False)
    _, _, naive_peak = naive(naive_rows, trace=True)
    fast_per_s, naive_per_s = exported / seconds, naive_n / naive_seconds
    naive_peak_per_million = naive_peak * 1_000_000 / max(naive_n, 1)
    return {
        "database": connection.vendor,
        "n": exported,
        "bytes": size,
        "seconds": round(seconds, 3),
        "fast_per_s": round(fast_per_s, 1),
        "fast_peak_mb": round(peak / 2**20, 1),
        "naive_n": naive_n,
        "naive_seconds": round(naive_seconds, 3),
        "naive_per_s": round(naive_per_s, 1),
        "naive_peak_mb": round(naive_peak / 2**20, 1),
        "naive_peak_mb_per_1m_rows": round(naive_peak_per_million / 2**20, 1),
        "ratio": round(fast_per_s / naive_per_s, 2),
        "memory_ratio_per_1m_rows": round(naive_peak_per_million / max(peak, 1), 1),
    }


def run(*, rows: int, naive_rows: int, **_: Any) -> dict[str, Any]:
    _fill(rows)
    return {"bench": "audit_export", **export_compared(path=EXPORT_PATH, naive=_naive, naive_rows=naive_rows)}
