"""Staff sessions end after STAFF_SESSION_IDLE_SECONDS without a request (default 30 minutes).

Staff (reviewers, approvers, admins, Django staff) and regulators see and change other people's
money; a browser left signed in on an unattended desk must not stay usable. Customers keep Django's
normal session length. The last request's time is kept in the session, rewritten at most every
IDLE_RESOLUTION of the limit so that most requests write nothing.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from core.roles import Role, has_role, is_staff_member

SESSION_KEY = "_staff_last_seen"
IDLE_RESOLUTION = 0.1


def watched(user: object) -> bool:
    """Whose sessions end when idle: staff members, Django staff and regulators."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(
        is_staff_member(user)  # type: ignore[arg-type]
        or has_role(user, Role.REGULATOR)  # type: ignore[arg-type]
        or getattr(user, "is_staff", False)
    )


class StaffIdleTimeoutMiddleware:
    """After AuthenticationMiddleware: signs an idle staff session out before the view runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and watched(request.user):
            limit = settings.STAFF_SESSION_IDLE_SECONDS
            now = time.time()
            last_seen = session.get(SESSION_KEY)
            if last_seen is not None and now - float(last_seen) > limit:
                logout(request)  # flushes the session: the view sees an anonymous visitor
                messages.info(request, _("You were signed out after a period without activity."), fail_silently=True)
            elif last_seen is None or now - float(last_seen) >= min(60.0, limit * IDLE_RESOLUTION):
                session[SESSION_KEY] = now
        return self.get_response(request)
