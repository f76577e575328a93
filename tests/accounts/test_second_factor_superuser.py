"""A Django superuser reaches /admin/ without any role, so it needs the second factor too; in the admin, nobody
reads another person's TOTP secret."""

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


def test_the_admin_never_shows_a_totp_secret_and_an_unknown_device_is_no_error(client):
    root = get_user_model().objects.create_superuser("root", "root@example.jp", PASSWORD)
    login_verified(client, root)
    device = root.totpdevice_set.get()
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 200
    for view in ("config", "qrcode"):
        assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/{view}/").status_code == 403
        assert client.get(f"/admin/otp_totp/totpdevice/{device.pk + 999}/{view}/").status_code == 403
