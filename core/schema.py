"""The OpenAPI schema's one rule for errors: every operation lists every error status it can answer.

`AutoSchema` (settings.REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]) adds, beside what a view declares with
`@extend_schema`, each status the layers below the view can answer, all with the one `Error` body
(core.errors.ErrorSerializer):

| status | when | which operations |
|---|---|---|
| 400 | bad input, a NUL or a lone surrogate in the path or query (core.http.RequestBoundaryMiddleware) | all |
| 401 | no credentials, or a bad token (`WWW-Authenticate: Token`) | those with an authenticator |
| 403 | the role may not; an approver or admin session without its second factor (every /api/ path) | all |
| 404 | an unknown object, another customer's, a page past the end, an unknown `format` | all |
| 409, 422 | the request conflicts with the current state; a rule of the domain | writes |
| 413, 415 | a body over the limit; a content type the operation does not read | writes |
| 429 | too many requests | those with a throttle |

`tests/test_schemathesis.py` holds the API to it: an undocumented status fails the suite.
"""

from typing import Any

from drf_spectacular import openapi
from rest_framework.permissions import AllowAny

from core.errors import ErrorSerializer

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema, with the error statuses of the table above added to every operation."""

    def error_statuses(self) -> list[str]:
        statuses = ["400", "403", "404"]
        if getattr(self.view, "authentication_classes", None):
            statuses.append("401")
        permissions = getattr(self.view, "permission_classes", None) or []
        if permissions and any(p is not AllowAny for p in permissions) and "401" not in statuses:
            statuses.append("401")
        if self.method in WRITE_METHODS:
            statuses += ["409", "413", "415", "422"]
        if getattr(self.view, "throttle_classes", None):
            statuses.append("429")
        return statuses

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in self.error_statuses():
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
        return dict(sorted(responses.items()))
