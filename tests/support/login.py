"""Signing in for tests: TOTP devices and codes, verified staff, the test client and the browser past the factor."""

import time

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.roles import STAFF_ROLES, Role
from tests.support.factories import user_with_role


def otp_device(user):
    """A confirmed TOTP device for `user` (what the enrolment page creates)."""
    return TOTPDevice.objects.create(user=user, name="default", confirmed=True)


def otp_code(device) -> str:
    """The device's current TOTP code."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def otp_verified(user):
    """Mark `user` as verified with a TOTP device, as django-otp's middleware does after a code is accepted.

    For APIClient.force_authenticate, which skips the middleware.
    """
    device = otp_device(user)
    user.otp_device = device
    user.is_verified = lambda: True
    return user


def staff(role: Role, **kwargs: object):
    """A staff user with a verified second factor (as every staff login needs)."""
    user = user_with_role(role, **kwargs)
    if role in STAFF_ROLES:
        otp_verified(user)
    return user


def login_verified(client, user) -> None:
    """Log the Django test client in with password and a TOTP device, as the two-factor page does."""
    client.force_login(user)
    device = otp_device(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def browser_login(page, username: str, password: str) -> None:
    """Log in; approvers and admins then pass the TOTP page (enrolling on first use) with a computed code."""
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_load_state("networkidle")
    for _attempt in range(2):
        if "/account/two-factor/" not in page.url:
            return
        _second_factor_enter(page, username)


def _second_factor_enter(page, username: str) -> None:
    device = TOTPDevice.objects.filter(user__username=username).order_by("-confirmed", "-pk").first()
    if device.last_t >= int((time.time() - device.t0) // device.step):
        time.sleep(device.step - (time.time() - device.t0) % device.step + 0.2)  # a code works once: wait for the next
    page.fill("input[name=otp_token]", otp_code(device))
    page.click("button[type=submit].primary")
    page.wait_for_load_state("networkidle")
