"""Accounts: e-mail addresses without case at sign-in and activation; a locked-out token login is a 429."""

import re

import pytest
from django.test import override_settings

from claims import services
from claims.models import ActivationToken, Customer
from core.roles import Role
from tests.support.factories import PASSWORD, customer_user, incident_with_snapshot, user_with_role

pytestmark = pytest.mark.django_db


def test_a_customer_signs_in_with_their_address_in_any_case(client, api):
    user = customer_user(Customer.objects.create(account_id="ACC-77", name="Alice", email="alice@example.jp"))
    response = client.post("/login/", {"username": "Alice@Example.JP", "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)
    token = api.post("/api/auth/token/", {"username": " ALICE@example.jp", "password": PASSWORD})
    assert token.status_code == 200


def test_a_wrong_password_in_another_case_is_still_wrong(client):
    customer_user(Customer.objects.create(account_id="ACC-78", name="Bob", email="bob@example.jp"))
    response = client.post("/login/", {"username": "BOB@example.jp", "password": "wrong-password"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_an_activation_link_is_sent_for_an_address_in_any_case_and_activates_a_lower_case_login(
    client, django_capture_on_commit_callbacks, mailoutbox
):
    incident_with_snapshot()
    customer = Customer.objects.get(account_id="ACC-1")
    Customer.objects.filter(pk=customer.pk).update(email="Sato.Taro@Example.JP")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/password-reset/", {"email": "sato.taro@EXAMPLE.jp"})
    assert ActivationToken.objects.filter(customer=customer).exists()
    link = next(m for m in mailoutbox if "/activate/" in m.body).body
    token = re.search(r"/activate/([^/\s]+)/", link).group(1)
    user = services.customer_activate(token=token, password="a-new-long-password")
    assert user.username == "sato.taro@example.jp"
    assert client.login(username="SATO.TARO@example.jp", password="a-new-long-password")


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_a_locked_out_token_login_answers_429_whatever_the_case_of_the_username(api):
    reviewer = user_with_role(Role.REVIEWER, username="hanako")
    statuses = [
        api.post("/api/auth/token/", {"username": name, "password": "wrong"}).status_code
        for name in ("hanako", "HANAKO", "Hanako")
    ]
    assert statuses == [400, 400, 429]  # one address whatever its case: the third failure locks it
    locked = api.post("/api/auth/token/", {"username": reviewer.username, "password": PASSWORD})
    assert locked.status_code == 429 and locked.json()["error"] == "locked_out"
