"""A web process loads at start what its first requests would otherwise load while customers wait."""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

from celery import current_app

from core import zengin

ROOT = Path(__file__).resolve().parents[2]


def test_the_wsgi_module_loads_the_task_modules_and_the_bank_table():
    zengin._banks.cache_clear()
    import config.wsgi

    importlib.reload(config.wsgi)

    assert zengin._banks.cache_info().currsize == 1
    assert {"claims.claim_notify", "audit.staged_events_drain"} <= set(current_app.tasks)


def test_the_first_task_lookup_of_a_process_leaves_its_logging_as_it_was():
    """Importing the tasks modules (at start, or at a process's first enqueue) is no worker start: Django is not
    set up again, so the root logger keeps its handlers (a request's log line is not lost mid-request)."""
    code = (
        "import django, json, logging; django.setup(); "
        "root = logging.getLogger(); marker = logging.NullHandler(); root.addHandler(marker); "
        "from core.broker import task_named; task = task_named('claims.claim_notify'); "
        "from celery import current_app; "
        "print(json.dumps([task.name, 'audit.staged_events_drain' in current_app.tasks, marker in root.handlers]))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_TESTING": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["claims.claim_notify", True, True]
