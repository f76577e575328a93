"""Staff sessions end after STAFF_SESSION_IDLE_SECONDS without a request; customers' sessions do not."""

import time

import pytest

from accounts.idle import SESSION_KEY
from core.roles import Role
from tests.support.factories import user_with_role
from tests.support.login import login_verified, staff

pytestmark = pytest.mark.django_db


def _age_session(client, seconds: float) -> None:
    """As if the last request had been `seconds` ago."""
    session = client.session
    session[SESSION_KEY] = time.time() - seconds
    session.save()


def test_the_default_idle_limit_is_thirty_minutes(settings):
    assert settings.STAFF_SESSION_IDLE_SECONDS == 1800


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.APPROVER, Role.ADMIN, Role.REGULATOR])
def test_a_staff_session_idle_past_the_limit_is_signed_out(client, settings, role):
    settings.STAFF_SESSION_IDLE_SECONDS = 600
    user = staff(role) if role in (Role.APPROVER, Role.ADMIN) else user_with_role(role)
    login_verified(client, user)
    home = "/regulator/" if role == Role.REGULATOR else "/staff/claims/"
    assert client.get(home).status_code == 200
    _age_session(client, 599)
    assert client.get(home).status_code == 200  # within the limit: still signed in, and the clock restarts
    _age_session(client, 601)
    response = client.get(home)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert "_auth_user_id" not in client.session
    # The API over the same (ended) session is refused too.
    assert client.get("/api/staff/claims/").status_code in (401, 403)


def test_a_request_within_the_limit_keeps_the_session_alive(client, settings):
    settings.STAFF_SESSION_IDLE_SECONDS = 600
    login_verified(client, user_with_role(Role.REVIEWER))
    client.get("/staff/claims/")
    _age_session(client, 500)
    client.get("/staff/claims/")  # activity: the last-seen time moves on
    assert time.time() - client.session[SESSION_KEY] < 5


def test_a_customer_session_is_not_ended_by_the_staff_limit(client, settings):
    settings.STAFF_SESSION_IDLE_SECONDS = 600
    customer = user_with_role(Role.CUSTOMER)
    client.force_login(customer)
    session = client.session
    session[SESSION_KEY] = time.time() - 5000
    session.save()
    client.get("/")
    assert client.session.get("_auth_user_id") == str(customer.pk)
