"""Error pages: JSON under /api/, HTML elsewhere, always in the {"error", "detail"} shape for the API.

config/urls.py names `bad_request`, `permission_denied`, `page_not_found` and `server_error` as Django's
handler400/403/404/500; settings.MIDDLEWARE lists `RequestBoundaryMiddleware` and `NotFoundPageMiddleware`.
"""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _

from core.errors import NotFound, error_body
from core.parsers import text_problem


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def error_response(request: HttpRequest, status: int, code: str, detail: str, title: str) -> HttpResponse:
    """`{"error", "detail"}` under /api/, the site's error page (templates/error.html) elsewhere."""
    if _wants_json(request):
        return JsonResponse(error_body(code, detail), status=status)
    return render(request, "error.html", {"title": title, "detail": detail}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's handler400 (a SuspiciousOperation: too many fields, a bad host, a body over the limit)."""
    if isinstance(exception, RequestDataTooBig):
        return _too_large(request)
    return error_response(request, 400, "bad_request", _("The request is malformed."), _("Bad request"))


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500: JSON under /api/; elsewhere a page that needs no context (anything may be broken)."""
    if _wants_json(request):
        return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)
    return HttpResponse(loader.get_template("500.html").render(), status=500)


def _too_large(request: HttpRequest) -> HttpResponse:
    return error_response(
        request, 413, "request_too_large", _("The request body is too large."), _("Request too large")
    )


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class RequestBoundaryMiddleware:
    """Refuse what no view could use before any view sees it: 413 for a body over REQUEST_MAX_BYTES, 400 for a
    NUL character or a lone surrogate in the path, the query string or a posted form's fields (PostgreSQL stores
    neither, so a lookup with one would be a 500). JSON bodies are checked by core.parsers.ExactJSONParser.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(
                request, 400, "bad_request", _("The Content-Length header is not a number."), _("Bad request")
            )
        if length > settings.REQUEST_MAX_BYTES:
            return _too_large(request)
        try:
            field = self._unstorable(request)
        except RequestDataTooBig:  # a form's fields over DATA_UPLOAD_MAX_MEMORY_SIZE
            return _too_large(request)
        if field is not None:
            detail = _("%(field)s contains a character that is not allowed (NUL or a lone surrogate).") % {
                "field": field
            }
            if _wants_json(request):
                return JsonResponse(
                    error_body("invalid", detail, fields={field: [_("NUL or lone surrogate")]}), status=400
                )
            return error_response(request, 400, "invalid", detail, _("Bad request"))
        return self.get_response(request)

    @staticmethod
    def _unstorable(request: HttpRequest) -> str | None:
        if text_problem(request.path_info):
            return "path"
        for key, values in request.GET.lists():
            if text_problem(key) or any(text_problem(value) for value in values):
                return key if not text_problem(key) else "query"
        if request.method == "POST" and request.content_type in _FORMS:
            for key, values in request.POST.lists():
                if text_problem(key) or any(text_problem(value) for value in values):
                    return key if not text_problem(key) else "form"
        return None


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"error": "permission_denied", "detail": "Your role may not do this."}, status=403)
    return render(request, "403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"error": "not_found", "detail": "Not found."}, status=404)
    return render(request, "404.html", status=404)


class NotFoundPageMiddleware:
    """Pages: a service's NotFound (another customer's claim, an unknown incident) is the 404 page, not a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, NotFound):
            raise Http404(exception.detail) from exception
        return None


CONFIRMED_FIELD = "confirmed"


def confirmation_page(
    request: HttpRequest, *, title: str, summary: list[str], cancel_url: str, button: str = ""
) -> HttpResponse | None:
    """Irreversible actions ask first: None once the person confirmed, else the page that asks.

    The page repeats what will happen (`summary`) and posts the same fields back to the same URL with
    `confirmed=1`; "Cancel" goes to `cancel_url`. It works without JavaScript.
    """
    if request.method != "POST" or request.POST.get(CONFIRMED_FIELD) == "1":
        return None
    fields = [
        (name, value)
        for name, values in request.POST.lists()
        if name not in ("csrfmiddlewaretoken", CONFIRMED_FIELD)
        for value in values
    ]
    return render(
        request,
        "confirm.html",
        {
            "title": title,
            "summary": summary,
            "fields": fields,
            "cancel_url": cancel_url,
            "button": button,
            "action_url": request.get_full_path(),
        },
    )
