"""REST API of the audit app. Thin: validate input, call a selector or service."""

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import checkpoints, receipts, selectors, services, tlog
from audit.export import CHECKPOINT_COLUMNS, EVENT_COLUMNS
from audit.forms import EventFilterForm
from audit.log.append import tree_head
from audit.log.entries import ENTRY_FIELDS
from audit.models import Checkpoint, Event
from audit.signing import SigningKeyMissing, log_origin, signer
from audit.verification import verification_run
from core.errors import ErrorSerializer, InvalidInput, NotFound
from core.exports import StreamedExportMixin
from core.roles import IsAdmin, IsRegulator


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = list(ENTRY_FIELDS)  # the event exactly as its entry (leaf) holds it


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
                _("Invalid search filters."),
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
    tree = serializers.SerializerMethodField()
    checked = serializers.IntegerField()
    first_bad_seq = serializers.IntegerField(allow_null=True)
    problem = serializers.CharField()
    checkpoints = serializers.SerializerMethodField()
    consistency = serializers.SerializerMethodField()

    def get_tree(self, run) -> dict:
        return {"size": run.tree_size, "root": run.root}

    def get_checkpoints(self, run) -> dict:
        latest = checkpoints.checkpoint_latest()
        return {
            "checked": run.checkpoints_checked,
            "problems": run.checkpoint_problems,
            "latest": CheckpointSerializer(latest).data if latest else None,
        }

    def get_consistency(self, run) -> dict:
        return {"from_size": run.consistency_from, "to_size": run.consistency_to, "ok": run.consistency_ok}


class RegulatorAuditVerifyApi(APIView):
    """Recompute the whole tree from the events, check tiles, head and every checkpoint now; return the result."""

    permission_classes = [IsRegulator]

    @extend_schema(responses={200: VerificationSerializer, 403: ErrorSerializer})
    def get(self, request: Request) -> Response:
        run = verification_run(requested_by=request.user)
        return Response(VerificationSerializer(run).data)


class CheckpointSerializer(serializers.ModelSerializer):
    key_id = serializers.CharField()
    note = serializers.SerializerMethodField()

    class Meta:
        model = Checkpoint
        fields = ["id", "size", "root", "origin", "signed_at", "key_id", "note"]

    def get_note(self, checkpoint) -> str:
        return checkpoints.checkpoint_note(checkpoint)


class RegulatorCheckpointListApi(StreamedExportMixin, generics.GenericAPIView):
    """Signed checkpoints with their cosignatures, newest first; `?format=jsonl` streams them all."""

    permission_classes = [IsRegulator]
    serializer_class = CheckpointSerializer
    filter_backends: list = []

    @extend_schema(
        operation_id="regulator_audit_checkpoints_list",
        parameters=[OpenApiParameter("format", str, enum=["json", "jsonl"])],
        responses={200: CheckpointSerializer(many=True), 403: ErrorSerializer},
    )
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        rows = checkpoints.checkpoint_list()
        export = self.streamed_export(
            rows=rows.order_by("size", "id"), columns=CHECKPOINT_COLUMNS, filename_stem="checkpoints"
        )
        if export is not None:
            return export
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(CheckpointSerializer(page, many=True).data)


class RegulatorCheckpointDetailApi(APIView):
    permission_classes = [IsRegulator]

    @extend_schema(responses={200: CheckpointSerializer, 404: ErrorSerializer})
    def get(self, request: Request, checkpoint_id: int) -> Response:
        return Response(CheckpointSerializer(checkpoints.checkpoint_get(checkpoint_id=checkpoint_id)).data)


# --- The log's public interface: what witnesses and receipt holders need -----------------------------

NOTE_RESPONSE = {(200, "text/plain"): OpenApiTypes.STR, 404: ErrorSerializer}


def _note_response(note: str) -> HttpResponse:
    response = HttpResponse(note, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


class _Public(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []  # public and stateless: no session, so no CSRF token needed


class LogCheckpointApi(_Public):
    """Public: the newest signed checkpoint as a C2SP signed note, with every cosignature received."""

    @extend_schema(responses=NOTE_RESPONSE)
    def get(self, request: Request) -> HttpResponse:
        latest = checkpoints.checkpoint_latest()
        if latest is None:
            raise NotFound("not_found", _("No checkpoint has been signed yet."))
        return _note_response(checkpoints.checkpoint_note(latest))


class LogCheckpointBySizeApi(_Public):
    """Public: the signed checkpoint of a given tree size, with its cosignatures."""

    @extend_schema(responses=NOTE_RESPONSE)
    def get(self, request: Request, size: int) -> HttpResponse:
        return _note_response(checkpoints.checkpoint_note(checkpoints.checkpoint_of_size(size=size)))


ConsistencySerializer = inline_serializer(
    "ConsistencyProof",
    {
        "old_size": serializers.IntegerField(),
        "new_size": serializers.IntegerField(),
        "proof": serializers.ListField(child=serializers.CharField(), help_text="base64 SHA-256 hashes"),
    },
)
SIZE_PARAMETERS = [
    OpenApiParameter("from", int, required=True, description="the older tree size"),
    OpenApiParameter("to", int, required=True, description="the newer tree size"),
]


def _sizes(request: Request, *names: str) -> list[int]:
    values = []
    for name in names:
        text = request.query_params.get(name, "")
        if not text.isascii() or not text.isdigit() or len(text) > 19:
            raise InvalidInput(
                "invalid", _("`%(name)s` must be a tree size (a non-negative integer).") % {"name": name}
            )
        values.append(int(text))
    return values


class LogConsistencyApi(_Public):
    """Public: the RFC 9162 consistency proof between two signed checkpoints' sizes (0: the empty tree)."""

    @extend_schema(
        parameters=SIZE_PARAMETERS, responses={200: ConsistencySerializer, 400: ErrorSerializer, 404: ErrorSerializer}
    )
    def get(self, request: Request) -> Response:
        old, new = _sizes(request, "from", "to")
        return Response(checkpoints.consistency_between_checkpoints(old_size=old, new_size=new))


class CosignatureApi(_Public):
    """Public, authenticated by the signature itself: a registered witness posts the checkpoint it cosigned."""

    @extend_schema(
        request=inline_serializer("CosignatureInput", {"note": serializers.CharField()}),
        responses={
            201: inline_serializer(
                "CosignatureAccepted",
                {"size": serializers.IntegerField(), "witnesses": serializers.ListField(child=serializers.CharField())},
            ),
            400: ErrorSerializer,
            404: ErrorSerializer,
            422: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        note = request.data.get("note") if isinstance(request.data, dict) else None
        if not isinstance(note, str) or not note:
            raise InvalidInput("invalid", _('Send {"note": the cosigned checkpoint}.'))
        result = checkpoints.cosignatures_add(note=note)
        return Response({"size": result.checkpoint.size, "witnesses": result.witnesses}, status=201)


ReceiptProofSerializer = inline_serializer(
    "ReceiptProof",
    {
        "event": serializers.DictField(),
        "leaf_index": serializers.IntegerField(),
        "tree_size": serializers.IntegerField(),
        "inclusion": serializers.ListField(child=serializers.CharField()),
        "checkpoint": serializers.CharField(),
    },
)


class ReceiptProofApi(_Public):
    """Public: the proof of a receipt (its event, inclusion proof and newest checkpoint), by receipt id."""

    @extend_schema(responses={200: ReceiptProofSerializer, 404: ErrorSerializer})
    def get(self, request: Request, receipt_id: str) -> Response:
        receipt = receipts.receipt_by_id(receipt_id=receipt_id)
        proof = receipts.receipt_proof(receipt) if receipt else None
        if proof is None:
            raise NotFound("not_found", _("No such receipt, or no checkpoint covers it yet."))
        return Response(proof)


class RegulatorInclusionApi(APIView):
    """Any event and its inclusion proof in the tree of any size up to the current one (default: the tree now)."""

    permission_classes = [IsRegulator]

    @extend_schema(
        parameters=[OpenApiParameter("seq", int, required=True), OpenApiParameter("size", int)],
        responses={
            200: inline_serializer(
                "InclusionProof",
                {
                    "leaf_index": serializers.IntegerField(),
                    "tree_size": serializers.IntegerField(),
                    "event": serializers.DictField(),
                    "inclusion": serializers.ListField(child=serializers.CharField()),
                },
            ),
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def get(self, request: Request) -> Response:
        (seq,) = _sizes(request, "seq")
        size = _sizes(request, "size")[0] if "size" in request.query_params else tree_head()[0]
        return Response(checkpoints.inclusion_of(seq=seq, size=size))


class RegulatorConsistencyApi(APIView):
    """The consistency proof between any two tree sizes up to the current one."""

    permission_classes = [IsRegulator]

    @extend_schema(
        parameters=SIZE_PARAMETERS, responses={200: ConsistencySerializer, 400: ErrorSerializer, 403: ErrorSerializer}
    )
    def get(self, request: Request) -> Response:
        old, new = _sizes(request, "from", "to")
        return Response(checkpoints.consistency_between(old_size=old, new_size=new))


class WitnessSerializer(serializers.Serializer):
    name = serializers.CharField()
    vkey = serializers.CharField()
    active = serializers.BooleanField()
    added_at = serializers.DateTimeField()
    cosigned_size = serializers.IntegerField(allow_null=True, help_text="the largest tree size it cosigned")
    last_cosigned_at = serializers.DateTimeField(allow_null=True)


class RegulatorWitnessListApi(APIView):
    """The registered witnesses and how far each has cosigned."""

    permission_classes = [IsRegulator]

    @extend_schema(responses={200: WitnessSerializer(many=True), 403: ErrorSerializer})
    def get(self, request: Request) -> Response:
        return Response(WitnessSerializer(checkpoints.witness_list(), many=True).data)


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
            {
                "key_id": key.key_id,
                "public_key_pem": key.public_key_pem,
                "vkey": tlog.log_verifier_from_pem(key.public_key_pem.encode("ascii"), log_origin()).vkey(),
                "first_used_at": key.first_used_at,
            }
            for key in selectors.signing_key_list()
        ]
        return Response({"current_key_id": current, "keys": keys})


class ReceiptCheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    signature_valid = serializers.BooleanField()
    in_trail = serializers.BooleanField()
    checkpointed = serializers.BooleanField()
    proof_valid = serializers.BooleanField(allow_null=True, help_text="null when the receipt carries no proof")
    witnesses = serializers.ListField(child=serializers.CharField(), help_text="registered witnesses that cosigned")
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
            raise InvalidInput("invalid", _("Send the receipt as a JSON object."))
        check = receipts.receipt_verify(dict(request.data))
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
