"""POST /api/auth/token/: a DRF token for API clients; staff add their TOTP code, which the token is bound to."""

from django.utils.translation import gettext as _
from django_otp import match_token
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.second_factor import is_privileged
from accounts.tokens import token_issue
from core.errors import ApplicationError, ErrorSerializer


class TokenObtainApi(ObtainAuthToken):
    """A DRF token for username and password; staff also send `otp_token` (their TOTP code).

    A staff token is new on every call (the earlier one ends), bound to the device that
    checked the code, and expires after STAFF_TOKEN_HOURS (accounts.tokens).
    """

    class InputSerializer(AuthTokenSerializer):
        """Request body of TokenObtainApi."""

        class Meta:
            ref_name = "TokenObtainInput"

        otp_token = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")

    serializer_class = InputSerializer

    @extend_schema(
        request=InputSerializer,
        responses={
            200: inline_serializer("Token", {"token": serializers.CharField()}),
            400: ErrorSerializer,
            403: ErrorSerializer,
            429: ErrorSerializer,
        },
    )
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        data = self.get_serializer(data=request.data)
        if not data.is_valid():
            # django-axes refused a locked-out username/address before checking the password.
            if getattr(request, "axes_locked_out", False) or getattr(request._request, "axes_locked_out", False):
                raise ApplicationError(
                    "locked_out", _("Too many failed sign-ins for this login: try again later."), status=429
                )
            raise serializers.ValidationError(data.errors)
        user = data.validated_data["user"]
        code = data.validated_data["otp_token"]
        if not is_privileged(user):
            token, _created = Token.objects.get_or_create(user=user)
            return Response({"token": token.key})
        # No code, no check: a blank try would count as a failure in django-otp's throttling.
        device = match_token(user, code) if code else None
        if device is None:
            raise ApplicationError(
                "second_factor_required",
                _("Staff send their current TOTP code as otp_token to get a token."),
                status=403,
            )
        return Response({"token": token_issue(user=user, device=device).key})
