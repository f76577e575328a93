"""A staff member imports a snapshot in a real browser."""

import pytest

from core.roles import Role
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD, snapshot_csv, user_with_role
from tests.support.factories import incident_declare as declare
from tests.support.login import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_approver_sees_rejection_then_imports_and_opens(page, tmp_path):
    incident = declare(code="e2e-1")
    approver = user_with_role(Role.APPROVER)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(snapshot_csv([("A-1", "N", "n@example.jp", "DOGE", "1")]).getvalue())
    good = tmp_path / "good.csv"
    good.write_bytes(snapshot_csv([("A-1", "N", "n@example.jp", "XEM", "1.5")]).getvalue())

    browser_login(page, approver.username, PASSWORD)
    page.goto(f"/staff/incidents/{incident.code}/")
    page.set_input_files("input[name=file]", str(bad))
    page.click("text=Import snapshot")
    assert "unknown asset 'DOGE'" in page.locator("[data-testid=rejected-errors]").inner_text()
    screenshot(page, tmp_path / "rejected.png", full_page=False)

    page.goto(f"/staff/incidents/{incident.code}/")
    page.set_input_files("input[name=file]", str(good))
    page.click("text=Import snapshot")
    sha = page.locator("[data-testid=snapshot-sha256]").inner_text()
    assert len(sha) == 64

    page.click("button[name=to][value=open]")
    assert "invited by e-mail" in page.locator("[data-testid=confirm-summary]").inner_text()  # says what happens
    page.click("[data-testid=confirm-yes]")
    assert page.locator("[data-testid=incident-status]").inner_text() == "Open for claims"
    screenshot(page, tmp_path / "opened.png")
