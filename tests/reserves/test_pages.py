"""The staff pages render what staff need and refuse other roles (Django test client; the browser test is in e2e)."""

import pytest

from core.roles import Role
from reserves.models import Payout, Transfer
from tests.support.factories import PASSWORD, user_with_role
from tests.support.login import login_verified, staff
from tests.support.money import fund_open, policy, register, reserve_fund

pytestmark = pytest.mark.django_db


def login(client, role: Role):
    """Log in with the role; approvers and admins also pass their second factor."""
    if role in (Role.REVIEWER, Role.APPROVER, Role.ADMIN):
        user = staff(role)
        login_verified(client, user)
        return user
    user = user_with_role(role)
    client.login(username=user.username, password=PASSWORD)
    return user


def test_the_reserve_page_shows_the_alert_below_the_minimum(client, settings):
    settings.RESERVE_MINIMUM_FLOOR_JPY = 2_000_000_000
    reserve_fund(1_500_000_000)
    policy("PAGE-POL")
    login(client, Role.REVIEWER)
    html = client.get("/staff/reserve/").content.decode()
    assert 'data-testid="reserve-alert"' in html and "不足額 ¥500,000,000" in html
    assert "PAGE-POL" in html and "<polyline" in html
    assert 'data-testid="funding-form"' not in html  # reviewers read only


def test_the_funding_panel_shows_sources_rate_recoveries_and_replays(
    client, settings, django_capture_on_commit_callbacks
):
    reserve_fund(600)
    policy("PANEL-1", per_occurrence_limit_jpy=300, aggregate_limit_jpy=300)
    fund = fund_open("panel-inc")
    with django_capture_on_commit_callbacks(execute=True):
        register(fund, {"A": 500, "B": 500})
    login(client, Role.APPROVER)
    html = client.get("/staff/funds/panel-inc/?replay=1", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for text in ("¥1,000", "90.00%", "60.00%", "PANEL-1", "Notice due", 'data-testid="replay-ok"', "<svg"):
        assert text in html, text
    assert client.get("/staff/funds/").status_code == 200


def test_the_payout_list_filters_exports_and_retries(client, settings, django_capture_on_commit_callbacks):
    settings.SANDBOX_RAIL_FAILURE_RATE = 1.0
    settings.PAYOUT_MAX_ATTEMPTS = 1
    reserve_fund(10_000)
    fund = fund_open("list-inc")
    with django_capture_on_commit_callbacks(execute=True):
        register(fund, {"F-1": 100, "F-2": 200})
    login(client, Role.APPROVER)

    html = client.get("/staff/payouts/?status=failed").content.decode()
    assert 'data-testid="failed-banner"' in html and "F-1" in html and "F-2" in html
    export = client.get("/staff/payouts/?incident=list-inc&format=csv", HTTP_ACCEPT_LANGUAGE="en")
    csv_body = b"".join(export.streaming_content).decode("utf-8-sig")
    assert csv_body.splitlines()[0].startswith("Payout ID,Incident,Claim,Account,Round,Amount")
    assert len(csv_body.splitlines()) == 3

    settings.SANDBOX_RAIL_FAILURE_RATE = 0.0
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/staff/payouts/retry/", {"all_failed": "1", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/staff/payouts/"
    assert set(Payout.objects.values_list("status", flat=True)) == {"paid"}


def test_makers_cannot_approve_their_own_funding_on_the_page(client):
    login(client, Role.APPROVER)
    client.post("/staff/reserve/fundings/", {"kind": "funding", "amount_jpy": "1000", "reference": "R-1"})
    from reserves.models import ReserveFunding

    funding = ReserveFunding.objects.get()
    response = client.post(f"/staff/reserve/fundings/{funding.pk}/approve/", follow=True)
    assert "承認者は申請者と別の人である必要があります" in response.content.decode()
    funding.refresh_from_db()
    assert funding.status == "requested"


@pytest.mark.parametrize("path", ["/staff/reserve/", "/staff/funds/", "/staff/payouts/"])
def test_customers_and_regulators_get_403(client, path):
    login(client, Role.CUSTOMER)
    assert client.get(path).status_code == 403


def test_reviewers_cannot_post_staff_actions(client):
    login(client, Role.REVIEWER)
    assert (
        client.post("/staff/reserve/fundings/", {"kind": "funding", "amount_jpy": "1", "reference": "x"}).status_code
        == 403
    )
    assert client.post("/staff/payouts/retry/", {"all_failed": "1"}).status_code == 403


def test_the_admin_shows_money_tables_read_only(client, django_capture_on_commit_callbacks):
    from django.contrib.auth import get_user_model

    reserve_fund(1_000)
    fund = fund_open("admin-inc")
    with django_capture_on_commit_callbacks(execute=True):
        register(fund, {"AD-1": 100})
    admin_user = get_user_model().objects.create_superuser("root-admin", "root@example.jp", PASSWORD)
    login_verified(client, admin_user)
    for model in ("account", "transfer", "payout", "entitlement", "allocation", "reservefunding", "incidentfund"):
        assert client.get(f"/admin/reserves/{model}/").status_code == 200, model
    transfer_id = Transfer.objects.first().pk
    assert client.get(f"/admin/reserves/transfer/{transfer_id}/delete/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_the_payout_list_offers_retry_exactly_where_the_service_allows_it(client):
    from reserves import services
    from tests.support.regulator import paid_scenario

    paid_scenario()  # B3's payout to a closed account failed; the others were paid
    approver = login(client, Role.APPROVER)
    html = client.get("/staff/payouts/").content.decode()
    for payout in Payout.objects.all():
        offered = f'data-testid="retry-{payout.pk}"' in html
        assert offered == (services.payout_allowed_actions(payout, approver) == ["retry"])
        assert offered == (payout.status == "failed")
    assert Payout.objects.filter(status="failed").exists()
