import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from audit.context import current_request_id
from core.roles import Role, has_role

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


class RequestContextMiddleware:
    """Give each request an id (kept from X-Request-ID when sane) for its audit events."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RegulatorViewLogMiddleware:
    """Write a `regulator.viewed` event for every request a regulator makes, anywhere (pages and API).

    Decided by the user's role, not by the path: a regulator's request to any
    URL (the portal, a staff page that answers 403, a public page) is in the trail;
    so is anyone's request to the portal itself (an admin reading it).
    Runs after the view (so DRF's token user is known), in a transaction of its
    own; a request that cannot be logged fails rather than being served unseen.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in and (
            request.path.startswith(settings.AUDIT_LOGGED_PATH_PREFIXES) or has_role(user, Role.REGULATOR)
        ):
            from audit.services import regulator_view_record

            regulator_view_record(
                user=user,
                method=request.method or "",
                path=request.path,
                query=request.META.get("QUERY_STRING", ""),
                status=response.status_code,
            )
        return response
