"""The TOTP second factor (django-otp) that approvers and admins pass before they can do anything.

`SecondFactorRequiredMiddleware` sends an unverified approver or admin to the
second-factor page (403 JSON under /api/); `second_factor_check` is what the
approve actions ask of API clients that use a token instead of a session.
"""

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import match_token

from core.errors import ApplicationError
from core.roles import Role, has_role
from core.types import User

SECOND_FACTOR_ROLES = (Role.APPROVER, Role.ADMIN)
# Reachable before the second factor: signing in and out, the factor pages, language and static files.
_OPEN_PREFIXES = ("/login/", "/logout/", "/account/two-factor/", "/i18n/", "/static/")


def _verified(user: User | AnonymousUser) -> bool:
    verified = getattr(user, "is_verified", None)  # set on the request's user by django-otp's middleware
    return bool(callable(verified) and verified())


def needs_second_factor(user: User | AnonymousUser) -> bool:
    """An approver, admin or Django-admin user whose session has not been verified with a TOTP code."""
    if not user.is_authenticated:
        return False
    # A superuser or staff account reaches /admin/ without any role: it needs the factor as much.
    powerful = user.is_superuser or user.is_staff
    if not (powerful or has_role(user, *SECOND_FACTOR_ROLES)):
        return False
    return not _verified(user)


def second_factor_check(user: User | AnonymousUser, token: str = "") -> None:
    """Approving needs a TOTP-verified session or, for token clients, a current TOTP code in the request (403)."""
    if _verified(user):
        return
    if token and isinstance(user, User) and match_token(user, token) is not None:
        return
    raise ApplicationError(
        "second_factor_required",
        "Approving needs your second factor: sign in with your TOTP code, or send otp_token.",
        status=403,
    )


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
