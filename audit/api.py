"""REST API of the audit app. Thin: validate input, call a selector or service."""

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import selectors, services
from audit.chain import HASHED_FIELDS
from audit.export import CHECKPOINT_COLUMNS, EVENT_COLUMNS
from audit.forms import EventFilterForm
from audit.models import Checkpoint, Event
from audit.signing import SigningKeyMissing, signer
from core.errors import ErrorSerializer, InvalidInput
from core.exports import StreamedExportMixin
from core.roles import IsAdmin, IsRegulator


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = [*HASHED_FIELDS, "hash"]  # the event exactly as hashed, plus its hash


class EventCursorPagination(CursorPagination):
    """Newest first by sequence number: stable while the trail grows, and no COUNT over millions of rows."""

    ordering = "-seq"
    page_size = 50


class RegulatorAuditEventListApi(StreamedExportMixin, generics.GenericAPIView):
    """Search the audit trail (regulators, admins). `?format=csv` or `?format=jsonl` streams every match."""

    permission_classes = [IsRegulator]
    pagination_class = EventCursorPagination
    serializer_class = EventSerializer
    filter_backends: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("subject_type", str),
            OpenApiParameter("subject_id", str),
            OpenApiParameter("actor", str),
            OpenApiParameter("action", str, description='exact, or a prefix ending in "*"'),
            OpenApiParameter("since", OpenApiTypes.DATETIME),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="exclusive"),
            OpenApiParameter("format", str, enum=["json", "csv", "jsonl"]),
        ],
        responses={200: EventSerializer(many=True), 400: ErrorSerializer, 403: ErrorSerializer},
    )
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        params = request.query_params.copy()
        params.pop("format", None)
        params.pop("cursor", None)
        form = EventFilterForm(params)
        if not form.is_valid():
            raise InvalidInput(
                "invalid",
                "Invalid search filters.",
                extra={"fields": {name: list(errors) for name, errors in form.errors.items()}},
            )
        events = selectors.event_search(filters=form.filters())
        export = self.streamed_export(rows=events.order_by("seq"), columns=EVENT_COLUMNS, filename_stem="audit-events")
        if export is not None:
            return export
        page = self.paginate_queryset(events)
        return self.get_paginated_response(EventSerializer(page, many=True).data)


class VerificationSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    verified_at = serializers.DateTimeField(source="ran_at")
    head = serializers.SerializerMethodField()
    checked = serializers.IntegerField()
    first_bad_seq = serializers.IntegerField(allow_null=True)
    problem = serializers.CharField()
    checkpoints = serializers.SerializerMethodField()

    def get_head(self, run) -> dict:
        return {"seq": run.head_seq, "hash": run.head_hash}

    def get_checkpoints(self, run) -> dict:
        latest = selectors.checkpoint_list().first()
        return {
            "checked": run.checkpoints_checked,
            "problems": run.checkpoint_problems,
            "latest": selectors.checkpoint_signed(latest) if latest else None,
        }


class RegulatorAuditVerifyApi(APIView):
    """Recompute the whole chain and check every signed checkpoint now; return the head and the result."""

    permission_classes = [IsRegulator]

    @extend_schema(responses={200: VerificationSerializer, 403: ErrorSerializer})
    def get(self, request: Request) -> Response:
        run = services.verification_run(requested_by=request.user)
        return Response(VerificationSerializer(run).data)


class CheckpointSerializer(serializers.ModelSerializer):
    key_id = serializers.CharField()

    class Meta:
        model = Checkpoint
        fields = ["id", "seq", "hash", "signed_at", "key_id", "signature"]


class RegulatorCheckpointListApi(StreamedExportMixin, generics.GenericAPIView):
    """Signed checkpoints, newest first; `?format=jsonl` streams them all as in checkpoints.jsonl."""

    permission_classes = [IsRegulator]
    serializer_class = CheckpointSerializer
    filter_backends: list = []

    @extend_schema(
        operation_id="regulator_audit_checkpoints_list",
        parameters=[OpenApiParameter("format", str, enum=["json", "jsonl"])],
        responses={200: CheckpointSerializer(many=True), 403: ErrorSerializer},
    )
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        checkpoints = selectors.checkpoint_list()
        rows = checkpoints.order_by("seq", "id")
        export = self.streamed_export(rows=rows, columns=CHECKPOINT_COLUMNS, filename_stem="checkpoints")
        if export is not None:
            return export
        page = self.paginate_queryset(checkpoints)
        return self.get_paginated_response(CheckpointSerializer(page, many=True).data)


class RegulatorCheckpointDetailApi(APIView):
    permission_classes = [IsRegulator]

    @extend_schema(responses={200: CheckpointSerializer, 404: ErrorSerializer})
    def get(self, request: Request, checkpoint_id: int) -> Response:
        return Response(CheckpointSerializer(selectors.checkpoint_get(checkpoint_id=checkpoint_id)).data)


class PublicKeyApi(APIView):
    """Public: the key that signs now and every key that ever signed (for receipts and checkpoints)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        responses=inline_serializer(
            "PublicKeys",
            {
                "current_key_id": serializers.CharField(allow_null=True),
                "keys": serializers.ListField(child=serializers.DictField()),
            },
        )
    )
    def get(self, request: Request) -> Response:
        try:
            current = signer().key_id
        except SigningKeyMissing:
            current = None
        keys = [
            {"key_id": key.key_id, "public_key_pem": key.public_key_pem, "first_used_at": key.first_used_at}
            for key in selectors.signing_key_list()
        ]
        return Response({"current_key_id": current, "keys": keys})


class ReceiptCheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    signature_valid = serializers.BooleanField()
    in_trail = serializers.BooleanField()
    checkpointed = serializers.BooleanField()
    receipt_id = serializers.CharField()
    audit_seq = serializers.IntegerField(allow_null=True)
    key_id = serializers.CharField()
    problems = serializers.ListField(child=serializers.CharField())


class ReceiptVerifyApi(APIView):
    """Public: POST a receipt document (the JSON as downloaded); 200 with the result, genuine or not."""

    permission_classes = [AllowAny]
    authentication_classes: list = []  # public and stateless: no session, so no CSRF token needed

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: ReceiptCheckSerializer, 400: OpenApiResponse(ErrorSerializer)},
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise InvalidInput("invalid", "Send the receipt as a JSON object.")
        check = selectors.receipt_verify(dict(request.data))
        return Response(ReceiptCheckSerializer(check).data)


class RegulatorAccountSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, min_length=10, max_length=128)
    date_joined = serializers.DateTimeField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)


class RegulatorAccountListApi(generics.GenericAPIView):
    """Admins only: list regulator logins, or create one."""

    permission_classes = [IsAdmin]
    serializer_class = RegulatorAccountSerializer
    filter_backends: list = []

    @extend_schema(operation_id="staff_regulators_list", responses={200: RegulatorAccountSerializer(many=True)})
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.regulator_list())
        return self.get_paginated_response(RegulatorAccountSerializer(page, many=True).data)

    @extend_schema(
        responses={201: RegulatorAccountSerializer, 400: ErrorSerializer, 403: ErrorSerializer, 409: ErrorSerializer}
    )
    def post(self, request: Request) -> Response:
        data = RegulatorAccountSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.regulator_create(actor=request.user, **data.validated_data)
        return Response(RegulatorAccountSerializer(user).data, status=201)
