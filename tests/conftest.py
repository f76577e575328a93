"""The test suite's root: shared fixtures come from tests/support/fixtures.py; PostgreSQL-only tests skip on SQLite."""

import os

import pytest

pytest_plugins = ["tests.support.fixtures"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (make test does)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
