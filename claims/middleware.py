"""Approvers and admins must pass a TOTP second factor before they can do anything."""

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from core.roles import Role, has_role

SECOND_FACTOR_ROLES = (Role.APPROVER, Role.ADMIN)
# Reachable before the second factor: signing in and out, the factor pages, language and static files.
_OPEN_PREFIXES = ("/login/", "/logout/", "/account/two-factor/", "/i18n/", "/static/")


def needs_second_factor(user: object) -> bool:
    """An approver, admin or Django-admin user whose session has not been verified with a TOTP code."""
    if not getattr(user, "is_authenticated", False):
        return False
    # A superuser or staff account reaches /admin/ without any role: it needs the factor as much.
    powerful = getattr(user, "is_superuser", False) or getattr(user, "is_staff", False)
    if not (powerful or has_role(user, *SECOND_FACTOR_ROLES)):
        return False
    verified = getattr(user, "is_verified", None)
    return not (callable(verified) and verified())


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
            return redirect(f"{reverse('two-factor')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
