"""The API docs page (Swagger UI) works in a real browser under the Content-Security-Policy.

Its files come from drf-spectacular-sidecar and its init script is a request of its own; the `page`
fixture fails the test on any violation Chromium reports.
"""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_render_every_operation_without_a_policy_violation(page):
    page.goto("/api/docs/")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() > 20
    assert "/api/claims/" in page.locator("#swagger-ui").inner_text()
