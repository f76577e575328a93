"""Error pages: JSON under /api/, HTML elsewhere, always in the {"error", "detail"} shape for the API.

config/urls.py names `permission_denied` and `page_not_found` as Django's handler403/handler404;
settings.MIDDLEWARE lists `NotFoundPageMiddleware`.
"""

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from core.errors import NotFound


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


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
