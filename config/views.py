"""Error pages: JSON under /api/, HTML elsewhere, always in the {"error", "detail"} shape for the API."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


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
