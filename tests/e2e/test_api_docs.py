"""Swagger UI and ReDoc render in a real browser with every request outside the app refused (a closed network)."""

import pytest

from tests.support.browser import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _closed_network(page, live_server) -> list[str]:
    refused: list[str] = []

    def route(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    return refused


def test_swagger_ui_lists_the_operations_offline(page, live_server, tmp_path):
    refused = _closed_network(page, live_server)
    page.goto("/api/docs/")
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.locator(".opblock").count() > 20
    assert "Authorization: Token" in page.locator(".information-container").inner_text()
    page.click("button.authorize")
    assert page.locator(".auth-container").first.is_visible()
    screenshot(page, tmp_path / "swagger.png", full_page=False)
    assert refused == []


REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def test_redoc_renders_offline(page, live_server):
    refused = _closed_network(page, live_server)
    page.csp_refusals_expected = (REDOC_LOGO,)  # the CSP refuses it before the closed network would
    page.goto("/api/redoc/")
    page.wait_for_selector("text=Signing in", timeout=20_000)
    assert page.locator("text=/api/auth/token/").count() > 0
    assert page.locator("[role=menuitem]").count() > 20  # the operations, in the side menu
    # ReDoc's bundle always asks for its maker's logo (then hides it when it fails): the only outside request.
    assert set(refused) <= {REDOC_LOGO}
