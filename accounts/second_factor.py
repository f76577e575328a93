"""Second factors: the TOTP code (django-otp) and passkeys (django-otp-webauthn).

Staff (reviewers, approvers, admins) and Django staff/superusers pass the TOTP
factor before they can do anything: `SecondFactorRequiredMiddleware` sends a
session to the second-factor page (403 `second_factor_required` JSON under
/api/); an API token is bound to the factor it was issued with
(`accounts.authentication.StaffTokenAuthentication`, 403 for a token without one).
`second_factor_check` is what the approve actions ask again. Customers may enrol either
factor (/account/security/); a change of where they are paid then needs it
again, with their password (`reauthenticate`).
"""

import datetime as dt
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential
from rest_framework import exceptions

from core.errors import ApplicationError
from core.roles import STAFF_ROLES, has_role
from core.types import User

SECOND_FACTOR_ROLES = tuple(STAFF_ROLES)
# Reachable before the second factor: signing in and out, the factor pages, language and static files.
_OPEN_PREFIXES = ("/login/", "/logout/", "/account/two-factor/", "/i18n/", "/static/")


def _verified(user: User | AnonymousUser) -> bool:
    verified = getattr(user, "is_verified", None)  # set on the request's user by django-otp's middleware
    return bool(callable(verified) and verified())


def is_privileged(user: User | AnonymousUser) -> bool:
    """A staff role, or a Django staff/superuser account (which reaches /admin/ without any role)."""
    if not user.is_authenticated:
        return False
    return bool(user.is_superuser or user.is_staff or has_role(user, *SECOND_FACTOR_ROLES))


def needs_second_factor(user: User | AnonymousUser) -> bool:
    """A staff or Django-admin user whose session (or token) has not been verified with a second factor."""
    return is_privileged(user) and not _verified(user)


def second_factor_check(user: User | AnonymousUser, token: str = "") -> None:
    """Approving needs a TOTP-verified session or, for token clients, a current TOTP code in the request (403)."""
    if _verified(user):
        return
    if token and isinstance(user, User) and match_token(user, token) is not None:
        return
    raise ApplicationError(
        "second_factor_required",
        _("Approving needs your second factor: sign in with your TOTP code, or send otp_token."),
        status=403,
    )


class SecondFactorRequired(ApplicationError, exceptions.PermissionDenied):  # type: ignore[misc]
    """403 `second_factor_required`; a DRF PermissionDenied too, so an authenticator may raise it."""

    def __init__(self, detail: str) -> None:
        ApplicationError.__init__(self, "second_factor_required", detail, status=403)


class ReauthenticationFailed(ApplicationError):
    def __init__(self, detail: str) -> None:
        super().__init__("reauthentication_failed", detail, status=403)


def reauthenticate(*, user: User | None, password: str, otp_token: str = "", passkey_verified: bool = False) -> None:
    """The password again, and a second factor if the user enrolled one; raises ReauthenticationFailed (403).

    The second factor is the current TOTP code, or a passkey used within
    PASSKEY_REAUTH_SECONDS in this session (`passkey_recently_used`, checked by the view).
    """
    if user is None or not password or not user.check_password(password):
        raise ReauthenticationFailed(_("Enter your password again to change where you are paid."))
    totp = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if totp is not None and otp_token and totp.verify_token(otp_token.strip()):
        return
    passkey = has_passkey(user)
    if passkey and passkey_verified:
        return
    if totp is not None or passkey:
        raise ReauthenticationFailed(
            _("Confirm with your second factor: the code from your authenticator app, or your passkey.")
        )


def has_passkey(user: User | AnonymousUser) -> bool:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).exists() if user.is_authenticated else False


def passkey_recently_used(request: HttpRequest) -> bool:
    """Whether this session was verified with one of the user's passkeys within PASSKEY_REAUTH_SECONDS."""
    device = getattr(request.user, "otp_device", None)
    if not isinstance(device, WebAuthnCredential) or device.user_id != request.user.pk:
        return False
    used = WebAuthnCredential.objects.filter(pk=device.pk).values_list("last_used_at", flat=True).first()
    return used is not None and timezone.now() - used <= dt.timedelta(seconds=settings.PASSKEY_REAUTH_SECONDS)


class SecondFactorRequiredMiddleware:
    """Send unverified approvers/admins to the second-factor page (403 JSON for the API)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(_OPEN_PREFIXES) and needs_second_factor(request.user):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"error": "second_factor_required", "detail": "Verify your second factor at /account/two-factor/."},
                    status=403,
                )
            return redirect(f"{reverse('accounts:two-factor')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
