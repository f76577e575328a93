"""REST API for claims (customers) and their review (staff). Thin: validate, call a service or selector."""

from decimal import ROUND_DOWN

from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils.translation import get_language
from django_otp import match_token
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.views import receipt_json_response
from claims import evidence as evidence_files
from claims import selectors, services
from claims.middleware import needs_second_factor
from claims.models import Claim, ClaimBatch, Customer, Evidence, PayoutChoice
from claims.payout_guard import passkey_recently_used
from config.errors import ApplicationError, InvalidInput, NotFound
from config.roles import HasPerm, IsCustomer, is_staff_member
from reserves.liabilities import liability_proof_for_claim
from reserves.receipts import ReceiptSummary

ERROR = inline_serializer("ClaimError", {"error": serializers.CharField(), "detail": serializers.CharField()})


# --- Output ------------------------------------------------------------------------------------


class ClaimLineSerializer(serializers.Serializer):
    asset = serializers.CharField(source="asset.symbol")
    snapshot_quantity = serializers.DecimalField(max_digits=38, decimal_places=18)
    claimed_quantity = serializers.DecimalField(max_digits=38, decimal_places=18)
    approved_quantity = serializers.DecimalField(max_digits=38, decimal_places=18)
    reference_price_jpy = serializers.DecimalField(
        source="asset.reference_price_jpy", max_digits=28, decimal_places=8, allow_null=True
    )
    value_jpy = serializers.IntegerField()
    reason = serializers.CharField()
    adjustment_reason = serializers.CharField()


class TimelineSerializer(serializers.Serializer):
    status = serializers.CharField()
    label = serializers.CharField(source="get_status_display")
    note = serializers.CharField(source="text", help_text="in the language asked for (payments: amount and rate)")
    at = serializers.DateTimeField(source="created_at")


class EvidenceSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = ["id", "file_name", "content_type", "size", "sha256", "uploaded_at", "url"]

    def get_url(self, item: Evidence) -> str:
        return reverse("api-claim-evidence-file", kwargs={"ref": item.claim.ref, "evidence_id": item.pk})


class PaymentFieldsMixin(serializers.Serializer):
    """What a claim has received so far and what is still to come (docs/money.md, "Payment states")."""

    paid_jpy = serializers.IntegerField(read_only=True, help_text="paid so far (yen)")
    outstanding_jpy = serializers.IntegerField(read_only=True, help_text="approved and not yet paid (yen)")
    paid_rate = serializers.DecimalField(
        max_digits=11,
        decimal_places=10,
        rounding=ROUND_DOWN,
        read_only=True,
        allow_null=True,
        help_text="share of the approved amount received so far (0-1); null before approval",
    )


class ClaimSerializer(PaymentFieldsMixin, serializers.ModelSerializer):
    incident = serializers.CharField(source="incident.code")
    status_label = serializers.CharField(source="get_status_display")
    lines = ClaimLineSerializer(many=True)
    timeline = TimelineSerializer(many=True)
    evidence = EvidenceSerializer(many=True)
    payout = serializers.SerializerMethodField()
    appealable = serializers.SerializerMethodField()

    class Meta:
        model = Claim
        fields = [
            "ref",
            "incident",
            "status",
            "status_label",
            "disputed",
            "matches_snapshot",
            "amount_jpy",
            "approved_amount_jpy",
            "paid_jpy",
            "outstanding_jpy",
            "paid_rate",
            "submitted_at",
            "approved_at",
            "paid_at",
            "appeal_until",
            "lines",
            "timeline",
            "evidence",
            "payout",
            "appealable",
        ]

    def get_payout(self, claim: Claim) -> dict:
        return services.payout_masked(getattr(claim, "payout", None))

    def get_appealable(self, claim: Claim) -> bool:
        return services.claim_is_appealable(claim)


class ClaimSummarySerializer(PaymentFieldsMixin, serializers.ModelSerializer):
    incident = serializers.CharField(source="incident.code")
    status_label = serializers.CharField(source="get_status_display")

    class Meta:
        model = Claim
        fields = [
            "ref",
            "incident",
            "status",
            "status_label",
            "amount_jpy",
            "approved_amount_jpy",
            "paid_jpy",
            "outstanding_jpy",
            "paid_rate",
            "submitted_at",
        ]


class ActionSerializer(serializers.Serializer):
    kind = serializers.CharField()
    actor = serializers.CharField(source="actor.username")
    review_round = serializers.IntegerField()
    reason = serializers.CharField()
    batch = serializers.IntegerField(source="batch_id", allow_null=True)
    at = serializers.DateTimeField(source="created_at")


class StaffClaimSerializer(ClaimSerializer):
    customer = serializers.CharField(source="customer.account_id")
    customer_name = serializers.CharField(source="customer.name")
    actions = ActionSerializer(many=True)
    approvals = serializers.SerializerMethodField()
    assigned_reviewer = serializers.CharField(source="assigned_reviewer.username", allow_null=True, default=None)

    class Meta(ClaimSerializer.Meta):
        fields = [
            *ClaimSerializer.Meta.fields,
            "customer",
            "customer_name",
            "required_approvals",
            "review_round",
            "assigned_reviewer",
            "batch",
            "actions",
            "approvals",
        ]

    def get_approvals(self, claim: Claim) -> list[dict]:
        return [
            {"approver": a.approver.username, "review_round": a.review_round, "at": a.created_at}
            for a in claim.approvals.all()
        ]


class StaffClaimRowSerializer(PaymentFieldsMixin, serializers.ModelSerializer):
    incident = serializers.CharField(source="incident.code")
    customer = serializers.CharField(source="customer.account_id")
    assigned_reviewer = serializers.CharField(source="assigned_reviewer.username", allow_null=True, default=None)

    class Meta:
        model = Claim
        fields = [
            "ref",
            "incident",
            "customer",
            "status",
            "disputed",
            "matches_snapshot",
            "amount_jpy",
            "approved_amount_jpy",
            "paid_jpy",
            "outstanding_jpy",
            "paid_rate",
            "required_approvals",
            "review_round",
            "assigned_reviewer",
            "submitted_at",
            "updated_at",
        ]


class BatchSerializer(serializers.ModelSerializer):
    incident = serializers.CharField(source="incident.code")
    created_by = serializers.CharField(source="created_by.username")
    approved_by = serializers.CharField(source="approved_by.username", allow_null=True, default=None)

    class Meta:
        model = ClaimBatch
        fields = [
            "id",
            "incident",
            "status",
            "amount_ceiling_jpy",
            "claim_count",
            "total_jpy",
            "created_by",
            "created_at",
            "approved_by",
            "approved_at",
        ]


# --- Input -------------------------------------------------------------------------------------


class LineInputSerializer(serializers.Serializer):
    asset = serializers.CharField(max_length=16)
    claimed_quantity = serializers.DecimalField(max_digits=38, decimal_places=18, min_value=0)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class PayoutInputSerializer(serializers.Serializer):
    # Blank: the incident's default method (elections), where it has one.
    method = serializers.ChoiceField(choices=PayoutChoice.Method.choices, required=False, allow_blank=True, default="")
    bank_code = serializers.CharField(max_length=4, required=False, allow_blank=True, default="")
    branch_code = serializers.CharField(max_length=3, required=False, allow_blank=True, default="")
    account_type = serializers.CharField(max_length=1, required=False, allow_blank=True, default="")
    account_number = serializers.CharField(max_length=7, required=False, allow_blank=True, default="")
    holder_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    addresses = serializers.DictField(child=serializers.CharField(max_length=128), required=False, default=dict)


class PayoutChangeSerializer(PayoutInputSerializer):
    """A change of payout details after filing: the password again, and the TOTP code if enrolled."""

    password = serializers.CharField(max_length=200, trim_whitespace=False, write_only=True)
    otp_token = serializers.CharField(max_length=12, required=False, allow_blank=True, default="", write_only=True)


def _lines(data: list[dict] | None) -> list[services.ClaimLineInput] | None:
    if data is None:
        return None
    return [services.ClaimLineInput(line["asset"], line["claimed_quantity"], line.get("reason", "")) for line in data]


def _payout(data: dict) -> services.PayoutInput:
    return services.PayoutInput(**data)


def _claim_response(claim: Claim, *, status_code: int = 200) -> Response:
    claim = selectors.claim_get_for_customer(customer=claim.customer, ref=claim.ref)
    return Response(ClaimSerializer(claim).data, status=status_code)


# --- Customer ----------------------------------------------------------------------------------


class ClaimListApi(APIView):
    """Customer: my claims, or file one (Idempotency-Key header required)."""

    permission_classes = [IsCustomer]

    class InputSerializer(serializers.Serializer):
        """Request body of ClaimListApi."""

        class Meta:
            ref_name = "ClaimListInput"

        incident = serializers.SlugField(max_length=32)
        lines = LineInputSerializer(many=True, required=False)
        payout = PayoutInputSerializer()

    @extend_schema(responses=ClaimSummarySerializer(many=True))
    def get(self, request: Request) -> Response:
        customer = selectors.customer_for_user(user=request.user)
        return Response(ClaimSummarySerializer(selectors.claim_list_for_customer(customer=customer), many=True).data)

    @extend_schema(
        request=InputSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True)],
        responses={
            201: ClaimSerializer,
            200: OpenApiResponse(ClaimSerializer, description="Same key and body as before: the first claim."),
            400: ERROR,
            404: ERROR,
            409: ERROR,
            422: ERROR,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = selectors.customer_for_user(user=request.user)
        incident = selectors.incident_get_for_customer(customer=customer, code=data.validated_data["incident"])
        result = services.claim_file(
            customer=customer,
            incident=incident,
            lines=_lines(data.validated_data.get("lines")),
            payout=_payout(data.validated_data["payout"]),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            language=get_language() or "ja",
        )
        return _claim_response(result.claim, status_code=201 if result.created else 200)


class ClaimDetailApi(APIView):
    """Customer: one of my claims with its lines, timeline, evidence and (masked) payout choice."""

    permission_classes = [IsCustomer]

    @extend_schema(responses={200: ClaimSerializer, 404: ERROR})
    def get(self, request: Request, ref: str) -> Response:
        customer = selectors.customer_for_user(user=request.user)
        return Response(ClaimSerializer(selectors.claim_get_for_customer(customer=customer, ref=ref)).data)


class ClaimAppealApi(APIView):
    """Customer: appeal a rejection or an adjustment, once."""

    permission_classes = [IsCustomer]

    class InputSerializer(serializers.Serializer):
        """Request body of ClaimAppealApi."""

        class Meta:
            ref_name = "ClaimAppealInput"

        reason = serializers.CharField(max_length=4000)

    @extend_schema(request=InputSerializer, responses={200: ClaimSerializer, 404: ERROR, 409: ERROR, 422: ERROR})
    def post(self, request: Request, ref: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = selectors.customer_for_user(user=request.user)
        claim = selectors.claim_get_for_customer(customer=customer, ref=ref)
        claim = services.claim_appeal(customer=customer, claim=claim, reason=data.validated_data["reason"])
        return _claim_response(claim)


def _guarded_change(request: Request, ref: str) -> tuple[Customer, Claim, dict]:
    """The customer's claim (404 first for another's) and the checked change: payout, password, second factor."""
    customer = selectors.customer_for_user(user=request.user)
    claim = selectors.claim_get_for_customer(customer=customer, ref=ref)
    data = PayoutChangeSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    values = dict(data.validated_data)
    guard = {
        "password": values.pop("password"),
        "otp_token": values.pop("otp_token"),
        "passkey_verified": passkey_recently_used(request),
    }
    return customer, claim, {"payout": _payout(values), **guard}


class ClaimPayoutApi(APIView):
    """Customer: change how the claim is paid (refused once approved)."""

    permission_classes = [IsCustomer]

    @extend_schema(request=PayoutChangeSerializer, responses={200: ClaimSerializer, 400: ERROR, 403: ERROR, 422: ERROR})
    def put(self, request: Request, ref: str) -> Response:
        customer, claim, change = _guarded_change(request, ref)
        services.claim_payout_set(customer=customer, claim=claim, **change)
        return _claim_response(claim)


class ClaimPayoutCorrectionApi(APIView):
    """Customer: corrected payout details after a payment came back (reviewed, then paid again once)."""

    permission_classes = [IsCustomer]

    @extend_schema(request=PayoutChangeSerializer, responses={201: ClaimSerializer, 400: ERROR, 403: ERROR, 409: ERROR})
    def post(self, request: Request, ref: str) -> Response:
        from claims.payout_guard import payout_correction_request

        customer, claim, change = _guarded_change(request, ref)
        payout_correction_request(customer=customer, claim=claim, **change)
        return _claim_response(claim, status_code=201)


class ClaimRespondApi(APIView):
    """Customer: answer a request for information (edit disputed lines and/or write a note)."""

    permission_classes = [IsCustomer]

    class InputSerializer(serializers.Serializer):
        """Request body of ClaimRespondApi."""

        class Meta:
            ref_name = "ClaimRespondInput"

        lines = LineInputSerializer(many=True, required=False)
        message = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={200: ClaimSerializer, 400: ERROR, 422: ERROR})
    def post(self, request: Request, ref: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = selectors.customer_for_user(user=request.user)
        claim = selectors.claim_get_for_customer(customer=customer, ref=ref)
        claim = services.claim_respond(
            customer=customer,
            claim=claim,
            lines=_lines(data.validated_data.get("lines")),
            message=data.validated_data["message"],
        )
        return _claim_response(claim)


class ClaimEvidenceApi(APIView):
    """Customer: attach PDF, PNG or JPEG files (multipart field `files`, repeatable)."""

    permission_classes = [IsCustomer]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "EvidenceUpload", {"files": serializers.ListField(child=serializers.FileField())}
            )
        },
        responses={201: EvidenceSerializer(many=True), 400: ERROR, 404: ERROR, 422: ERROR},
    )
    def post(self, request: Request, ref: str) -> Response:
        customer = selectors.customer_for_user(user=request.user)
        claim = selectors.claim_get_for_customer(customer=customer, ref=ref)
        stored = services.claim_evidence_add(customer=customer, claim=claim, files=request.FILES.getlist("files"))
        return Response(EvidenceSerializer(stored, many=True).data, status=201)


class EvidenceDownloadApi(APIView):
    """The owner or staff: download an evidence file (404 for anyone else)."""

    @extend_schema(responses={(200, "application/octet-stream"): bytes, 404: ERROR})
    def get(self, request: Request, ref: str, evidence_id: int) -> FileResponse:
        return evidence_response(request.user, ref, evidence_id)


class ReceiptSummarySerializer(serializers.Serializer):
    id = serializers.CharField()
    payout_id = serializers.IntegerField()
    round = serializers.IntegerField()
    amount_jpy = serializers.IntegerField()
    by_source_jpy = serializers.DictField(child=serializers.IntegerField())
    paid_at = serializers.DateTimeField()
    issued_at = serializers.DateTimeField()
    audit_seq = serializers.IntegerField()
    url = serializers.SerializerMethodField()

    def get_url(self, item: ReceiptSummary) -> str:
        ref = item.receipt.document["payload"]["claim_ref"]
        return reverse("api-claim-receipt", kwargs={"ref": ref, "receipt_id": item.id})


class ClaimReceiptListApi(APIView):
    """The owner or staff: the signed receipts of a claim's payouts (one per payout; 404 for anyone else)."""

    @extend_schema(responses={200: ReceiptSummarySerializer(many=True), 404: ERROR})
    def get(self, request: Request, ref: str) -> Response:
        claim = selectors.claim_for_user(user=request.user, ref=ref)
        return Response(ReceiptSummarySerializer(selectors.claim_receipts(claim=claim), many=True).data)


class ClaimReceiptApi(APIView):
    """The owner or staff: one receipt, the signed JSON document as a download (check it at /verify/)."""

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT, 404: ERROR})
    def get(self, request: Request, ref: str, receipt_id: str) -> HttpResponse:
        claim = selectors.claim_for_user(user=request.user, ref=ref)
        return receipt_json_response(receipt=selectors.claim_receipt_get(claim=claim, receipt_id=receipt_id))


class ClaimLatestReceiptApi(APIView):
    """The owner or staff: the receipt of the claim's latest paid payout (404 until there is one)."""

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT, 404: ERROR})
    def get(self, request: Request, ref: str) -> HttpResponse:
        claim = selectors.claim_for_user(user=request.user, ref=ref)
        receipts = selectors.claim_receipts(claim=claim)
        if not receipts:
            raise NotFound("not_found", "This claim has no payout receipt yet.")
        return receipt_json_response(receipt=receipts[-1].receipt)


class ClaimLiabilitiesProofApi(APIView):
    """The owner or staff: the claim's proof that it is counted in the incident's signed total of liabilities."""

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT, 404: ERROR})
    def get(self, request: Request, ref: str) -> Response:
        claim = selectors.claim_for_user(user=request.user, ref=ref)
        proof = liability_proof_for_claim(incident_code=claim.incident.code, claim_ref=claim.ref)
        if proof is None:
            raise NotFound("not_found", "No proof of liabilities holds this claim yet.")
        return Response(proof)


def evidence_response(user: object, ref: str, evidence_id: int) -> FileResponse:
    claim = selectors.claim_for_user(user=user, ref=ref)
    item = selectors.evidence_get(user=user, claim=claim, evidence_id=evidence_id)
    if is_staff_member(user):
        services.evidence_access_record(actor=user, evidence=item)
    response = FileResponse(
        evidence_files.open_stored(item.storage_path),
        as_attachment=True,
        filename=item.file_name,
        content_type=item.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- Staff -------------------------------------------------------------------------------------


def _bool_param(value: str | None, name: str) -> bool | None:
    if value in (None, ""):
        return None
    if value.lower() in {"true", "1", "yes"}:
        return True
    if value.lower() in {"false", "0", "no"}:
        return False
    raise InvalidInput("invalid", f"{name} must be true or false.", extra={"fields": {name: ["true or false"]}})


def _int_param(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    if not value.isdigit():
        raise InvalidInput("invalid", f"{name} must be a whole number.", extra={"fields": {name: ["whole number"]}})
    return int(value)


def review_filters(params: dict) -> selectors.ReviewFilters:
    """Query parameters of the review queue (API and page share them)."""
    status_value = params.get("status") or None
    if status_value and status_value not in Claim.Status.values:
        raise InvalidInput("invalid", "Unknown status.", extra={"fields": {"status": ["unknown status"]}})
    sort = params.get("sort") or "submitted"
    if sort not in selectors.REVIEW_SORTS:
        raise InvalidInput("invalid", "Unknown sort.", extra={"fields": {"sort": list(selectors.REVIEW_SORTS)}})
    return selectors.ReviewFilters(
        incident=params.get("incident") or None,
        status=status_value,
        disputed=_bool_param(params.get("disputed"), "disputed"),
        matches_snapshot=_bool_param(params.get("matches_snapshot"), "matches_snapshot"),
        amount_min=_int_param(params.get("amount_min"), "amount_min"),
        amount_max=_int_param(params.get("amount_max"), "amount_max"),
        older_than_days=_int_param(params.get("older_than_days"), "older_than_days"),
        newer_than_days=_int_param(params.get("newer_than_days"), "newer_than_days"),
        q=params.get("q") or None,
        sort=sort,
    )


def second_factor_check(request: Request, token: str = "") -> None:
    """Approving needs a TOTP-verified session or, for token clients, a current TOTP code in the request."""
    user = request.user
    verified = getattr(user, "is_verified", None)
    if callable(verified) and verified():
        return
    if token and match_token(user, token) is not None:
        return
    raise ApplicationError(
        "second_factor_required",
        "Approving needs your second factor: sign in with your TOTP code, or send otp_token.",
        status=403,
    )


class ReviewPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class StaffClaimListApi(APIView):
    """Staff: the review queue with filters, sorting, search, pagination and counts per status."""

    permission_classes = [HasPerm("claims.review_claim")]

    @extend_schema(
        operation_id="staff_claims_list",
        parameters=[
            OpenApiParameter(name, str, OpenApiParameter.QUERY)
            for name in (
                "incident",
                "status",
                "disputed",
                "matches_snapshot",
                "amount_min",
                "amount_max",
                "older_than_days",
                "newer_than_days",
                "q",
                "sort",
                "page",
                "page_size",
            )
        ],
        responses=inline_serializer(
            "ReviewQueue",
            {
                "count": serializers.IntegerField(),
                "next": serializers.CharField(allow_null=True),
                "previous": serializers.CharField(allow_null=True),
                "counts": serializers.DictField(child=serializers.IntegerField()),
                "results": StaffClaimRowSerializer(many=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        filters = review_filters(request.query_params)
        paginator = ReviewPagination()
        page = paginator.paginate_queryset(selectors.claim_list_for_review(filters=filters), request, view=self)
        response = paginator.get_paginated_response(StaffClaimRowSerializer(page, many=True).data)
        response.data["counts"] = selectors.claim_status_counts(filters=filters)
        return response


class StaffClaimDetailApi(APIView):
    permission_classes = [HasPerm("claims.review_claim")]

    @extend_schema(responses={200: StaffClaimSerializer, 404: ERROR})
    def get(self, request: Request, ref: str) -> Response:
        return Response(StaffClaimSerializer(selectors.claim_get_for_staff(ref=ref)).data)


class AdjustLineSerializer(serializers.Serializer):
    asset = serializers.CharField(max_length=16)
    approved_quantity = serializers.DecimalField(max_digits=38, decimal_places=18, min_value=0)


DECISIONS = ("verify", "adjust", "request_info", "recommend", "approve", "reject")


def decision_apply(
    *, request: object, claim: Claim, action: str, reason: str, lines: list[dict], otp_token: str = ""
) -> Claim:
    """Call the service for one staff decision (the API and the claim page share this)."""
    actor = request.user
    if action == "verify":
        return services.claim_verify(actor=actor, claim=claim, reason=reason)
    if action == "adjust":
        adjustments = [services.LineAdjustment(line["asset"], line["approved_quantity"]) for line in lines]
        return services.claim_line_adjust(actor=actor, claim=claim, adjustments=adjustments, reason=reason)
    if action == "request_info":
        return services.claim_info_request(actor=actor, claim=claim, message=reason)
    if action == "recommend":
        return services.claim_recommend(actor=actor, claim=claim, reason=reason)
    if action == "approve":
        if not actor.has_perm("claims.approve_claim"):
            raise ApplicationError("forbidden", "Your role may not approve claims.", status=403)
        second_factor_check(request, otp_token)
        return services.claim_approve(actor=actor, claim=claim, reason=reason)
    return services.claim_reject(actor=actor, claim=claim, reason=reason)


class StaffClaimDecisionApi(APIView):
    """Staff: verify, adjust a line (reason), request information (message), recommend, approve, reject (reason)."""

    permission_classes = [HasPerm("claims.review_claim")]

    class InputSerializer(serializers.Serializer):
        """Request body of StaffClaimDecisionApi."""

        class Meta:
            ref_name = "StaffClaimDecisionInput"

        action = serializers.ChoiceField(choices=DECISIONS)
        reason = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
        lines = AdjustLineSerializer(many=True, required=False, default=list)
        otp_token = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")

    @extend_schema(
        request=InputSerializer, responses={200: StaffClaimSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 422: ERROR}
    )
    def post(self, request: Request, ref: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        claim = selectors.claim_get_for_staff(ref=ref)
        decision_apply(request=request, claim=claim, **data.validated_data)
        return Response(StaffClaimSerializer(selectors.claim_get_for_staff(ref=ref)).data)


class StaffClaimBatchApi(APIView):
    """Staff (maker): list batches, or build one of the incident's snapshot-matching claims."""

    permission_classes = [HasPerm("claims.review_claim")]

    class InputSerializer(serializers.Serializer):
        """Request body of StaffClaimBatchApi."""

        class Meta:
            ref_name = "StaffClaimBatchInput"

        incident = serializers.SlugField(max_length=32)
        amount_ceiling_jpy = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
        reason = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")

    @extend_schema(responses=BatchSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(
            BatchSerializer(selectors.claim_batch_list(incident=request.query_params.get("incident")), many=True).data
        )

    @extend_schema(request=InputSerializer, responses={201: BatchSerializer, 400: ERROR, 404: ERROR, 422: ERROR})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = selectors.incident_get(code=data.validated_data["incident"])
        batch = services.claim_batch_create(
            actor=request.user,
            incident=incident,
            amount_ceiling_jpy=data.validated_data["amount_ceiling_jpy"],
            reason=data.validated_data["reason"],
        )
        return Response(BatchSerializer(batch).data, status=status.HTTP_201_CREATED)


class StaffBulkApproveApi(APIView):
    """Staff (checker): approve a maker's batch; never its maker; needs the second factor."""

    permission_classes = [HasPerm("claims.approve_claim")]

    class InputSerializer(serializers.Serializer):
        """Request body of StaffBulkApproveApi."""

        class Meta:
            ref_name = "StaffBulkApproveInput"

        batch = serializers.IntegerField(min_value=1)
        reason = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
        otp_token = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")

    @extend_schema(
        request=InputSerializer, responses={200: BatchSerializer, 403: ERROR, 404: ERROR, 409: ERROR, 422: ERROR}
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        batch = selectors.claim_batch_get(batch_id=data.validated_data["batch"])
        second_factor_check(request, data.validated_data["otp_token"])
        batch = services.claim_batch_approve(actor=request.user, batch=batch, reason=data.validated_data["reason"])
        return Response(BatchSerializer(selectors.claim_batch_get(batch_id=batch.pk)).data)


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
        responses={200: inline_serializer("Token", {"token": serializers.CharField()}), 400: ERROR, 403: ERROR},
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
