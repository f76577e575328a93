"""One family of errors: services raise ApplicationError, the API maps it to JSON once.

Every API error has the body {"error": code, "detail": text} and, for invalid
input, "fields": {field: [messages]}.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ApplicationError(Exception):
    """A rule of the domain was broken; `status` is the HTTP status the API answers with."""

    status: int = status.HTTP_422_UNPROCESSABLE_ENTITY

    def __init__(self, code: str, detail: str, *, status: int | None = None, extra: dict | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        if status is not None:
            self.status = status
        self.extra = extra or {}

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


class InvalidInput(ApplicationError):
    """Bad input (400); `fields` names what was wrong."""

    status = status.HTTP_400_BAD_REQUEST


class Conflict(ApplicationError):
    """The request conflicts with the current state (409)."""

    status = status.HTTP_409_CONFLICT


class NotFound(ApplicationError):
    """Missing, or not yours to see (404)."""

    status = status.HTTP_404_NOT_FOUND


def error_body(code: str, detail: Any, **extra: Any) -> dict:
    return {"error": code, "detail": detail, **extra}


class ErrorSerializer(serializers.Serializer):
    """The body of every API error, declared once for the OpenAPI schema (component `Error`)."""

    error = serializers.CharField(help_text="a stable code, e.g. not_found, invalid, four_eyes")
    detail = serializers.CharField(help_text="what went wrong, for people")
    # DRF takes declared fields off the class, so this one does not hide Serializer.fields.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="bad input only: the messages per field name",
    )


_DRF_CODES: dict[type, str] = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "parse_error",
}


def field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as one flat map: {"lines": [{}, {"asset": ["x"]}]} -> {"lines[1].asset": ["x"]}.

    Nested serializers add `.name`, lists of them and list fields `[i]`, dict fields `.key`; the messages of a
    field stay a list of strings, so every error body matches ErrorSerializer.
    """
    flat: dict[str, list[str]] = {}
    stack: list[tuple[str, Any]] = [(prefix, detail)]
    while stack:
        name, item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, int):
                    stack.append((f"{name}[{key}]", child))
                elif key == "non_field_errors" and name:  # a nested serializer's own error: the field's
                    stack.append((name, child))
                else:
                    stack.append((f"{name}.{key}" if name else str(key), child))
        elif isinstance(item, list) and any(isinstance(child, dict | list) for child in item):
            stack.extend((f"{name}[{i}]", child) for i, child in enumerate(item) if child)
        elif isinstance(item, list):
            flat.setdefault(name or "non_field_errors", []).extend(str(message) for message in item)
        else:
            flat.setdefault(name or "non_field_errors", []).append(str(item))
    return dict(sorted(flat.items()))


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF exception handler: every error becomes {"error", "detail"} with the right status."""
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("request_too_large", _("The request body is too large.")),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", _("The request is malformed.")), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.detail, **exc.extra), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        fields = field_errors(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
        return Response(
            error_body("invalid", _("The request is invalid."), fields=fields), status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        invalid = field_errors(exc.detail)
        names = ", ".join(invalid)
        response.data = error_body("invalid", _("Invalid input: %(fields)s.") % {"fields": names}, fields=invalid)
        return response
    code = next((c for klass, c in _DRF_CODES.items() if isinstance(exc, klass)), getattr(exc, "default_code", "error"))
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    response.data = error_body(code, str(detail))
    return response
