"""POST /api/auth/token/: a DRF token for API clients; approvers and admins add their TOTP code."""

from django_otp import match_token
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.second_factor import needs_second_factor
from core.errors import ApplicationError, ErrorSerializer


class TokenObtainApi(ObtainAuthToken):
    """A DRF token for username and password; approvers and admins also send `otp_token` (their TOTP code)."""

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
        },
    )
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = data.validated_data["user"]
        code = data.validated_data["otp_token"]
        # No code, no check: a blank try would count as a failure in django-otp's throttling.
        if needs_second_factor(user) and not (code and match_token(user, code) is not None):
            raise ApplicationError(
                "second_factor_required",
                "Approvers and admins send their current TOTP code as otp_token to get a token.",
                status=403,
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
