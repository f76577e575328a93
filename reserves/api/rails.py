"""REST API of the payment rails (staff): import a result file, list imports (docs/rails.md)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ErrorSerializer
from core.roles import HasPerm, signed_in_user
from reserves.models import ResultImport
from reserves.rails.result_formats import FORMATS
from reserves.services.result_imports import MAX_RESULT_BYTES, result_import


class ResultImportSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResultImport
        fields = [
            "id",
            "rail",
            "format",
            "sent_name",
            "sha256",
            "status",
            "paid_count",
            "returned_count",
            "unchanged_count",
            "rejected_count",
            "report",
            "imported_by",
            "created_at",
        ]


class ResultImportListApi(APIView):
    """GET: every import, newest first (view_money). POST: import a result file (manage_payouts).

    201 for a new import (applied or refused as a whole: see `status` and `report`), 200 when the same
    content was imported before (nothing changes), 400 when the file is not of the format, 413 past 20 MB.
    """

    parser_classes = [MultiPartParser, FormParser]

    def get_permissions(self):
        perm = "reserves.manage_payouts" if self.request.method == "POST" else "reserves.view_money"
        return [HasPerm(perm)()]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ResultImportInput"

        format = serializers.ChoiceField(choices=sorted(FORMATS))
        file = serializers.FileField()

    @extend_schema(responses={200: ResultImportSerializer(many=True), 403: ErrorSerializer})
    def get(self, request: Request) -> Response:
        return Response(ResultImportSerializer(ResultImport.objects.all()[:200], many=True).data)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={
            200: ResultImportSerializer,
            201: ResultImportSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            413: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > MAX_RESULT_BYTES:
            return Response(
                {"error": "too_large", "detail": "A result file is at most 20 MB."},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        before = ResultImport.objects.count()
        record = result_import(
            actor=signed_in_user(request), format_name=data.validated_data["format"], content=upload.read()
        )
        created = ResultImport.objects.count() > before
        return Response(
            ResultImportSerializer(record).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
