"""API tokens: staff tokens are bound to the second factor they were issued with, expire, and end on a role change.

`accounts.authentication.StaffTokenAuthentication` replaces DRF's TokenAuthentication. For a
privileged user (a staff role, or Django staff/superuser) a token
- older than STAFF_TOKEN_HOURS is refused (401 `authentication_failed`, and deleted);
- without a second factor bound to it (`TokenSecondFactor`, written by POST /api/auth/token/ when the
  TOTP code was right) is refused with 403 `second_factor_required` on every request, as an
  unverified session is by `SecondFactorRequiredMiddleware`;
- with one: `request.user.is_verified()` is true, as for a verified session.
A change of the user's roles deletes their tokens (`tokens_revoke`, from accounts.signals).
"""

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_otp import devices_for_user
from rest_framework import exceptions
from rest_framework.authtoken.models import Token

from accounts.models import TokenSecondFactor
from accounts.second_factor import SecondFactorRequired, is_privileged
from core.types import User


def staff_token_expired(token: Token) -> bool:
    return timezone.now() - token.created > dt.timedelta(hours=settings.STAFF_TOKEN_HOURS)


def token_issue(*, user: User, device: Any | None) -> Token:
    """A fresh token for `user` (replacing any earlier one), bound to `device` when a second factor was checked."""
    Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    if device is not None:
        TokenSecondFactor.objects.create(token=token, device_id=device.persistent_id)
    return token


def tokens_revoke(*, user_ids: list[int]) -> int:
    """Delete the users' API tokens (a role change); returns how many."""
    deleted, _ = Token.objects.filter(user_id__in=user_ids).delete()
    return deleted


def token_user_check(user: User, token: Token) -> None:
    """Refuse an expired or unbound token of a privileged user; mark the user verified by a bound one."""
    if not is_privileged(user):
        return
    if staff_token_expired(token):
        token.delete()
        raise exceptions.AuthenticationFailed("Token expired: ask for a new one at /api/auth/token/.")
    binding = TokenSecondFactor.objects.filter(token=token).first()
    device = None
    if binding is not None:
        device = next((d for d in devices_for_user(user) if d.persistent_id == binding.device_id), None)
    if device is None:
        raise SecondFactorRequired(
            "This token was issued without a second factor: ask for a new one with your TOTP code as otp_token."
        )
    # As django-otp's middleware marks a verified session's user.
    user.otp_device = device  # type: ignore[attr-defined]
    user.is_verified = lambda: True  # type: ignore[attr-defined]
