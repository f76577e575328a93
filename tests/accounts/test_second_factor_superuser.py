"""A Django superuser reaches /admin/ without any role, so it needs the second factor too."""

import pytest
from django.contrib.auth import get_user_model

from tests.support.factories import PASSWORD
from tests.support.login import login_verified

pytestmark = pytest.mark.django_db


def test_superuser_without_a_role_is_sent_to_the_second_factor(client):
    root = get_user_model().objects.create_superuser("root", "root@example.jp", PASSWORD)
    client.login(username="root", password=PASSWORD)

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/account/two-factor/")
    login_verified(client, root)
    assert client.get("/admin/").status_code == 200
