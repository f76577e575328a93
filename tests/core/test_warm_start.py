"""A web process loads at start what its first requests would otherwise load while customers wait."""

import importlib

from celery import current_app

from core import zengin


def test_the_wsgi_module_loads_the_task_modules_and_the_bank_table():
    zengin._banks.cache_clear()
    import config.wsgi

    importlib.reload(config.wsgi)

    assert zengin._banks.cache_info().currsize == 1
    assert {"claims.claim_notify", "audit.staged_events_drain"} <= set(current_app.tasks)
