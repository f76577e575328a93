"""The staff API of review: the queue, one claim, decisions, the maker's batches and the checker's bulk approval."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from claims import selectors, services
from claims.api.serializers import ClaimSerializer, PaymentFieldsMixin
from claims.forms import review_filters
from claims.models import Claim, ClaimBatch
from core.errors import ErrorSerializer
from core.roles import HasPerm, signed_in_user
from core.validation import MAX_ID, MAX_JPY


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
    required_approvals = serializers.SerializerMethodField(
        help_text="How many approvals the claim needs (known from its amount before anyone recommends it)."
    )
    allowed_actions = serializers.SerializerMethodField(
        help_text="The decisions (verify, adjust, request_info, recommend, approve, reject) the caller may take now:"
        " the same rule the decision endpoint enforces."
    )

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
            "allowed_actions",
        ]

    def get_required_approvals(self, claim: Claim) -> int:
        return services.approvals_needed(claim)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, claim: Claim) -> list[str]:
        request = self.context.get("request")
        if request is None:
            return []
        return services.claim_allowed_actions(claim, request.user)

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

    @extend_schema(responses={200: StaffClaimSerializer, 404: ErrorSerializer})
    def get(self, request: Request, ref: str) -> Response:
        claim = selectors.claim_get_for_staff(ref=ref)
        return Response(StaffClaimSerializer(claim, context={"request": request}).data)


class AdjustLineSerializer(serializers.Serializer):
    asset = serializers.CharField(max_length=16)
    approved_quantity = serializers.DecimalField(max_digits=38, decimal_places=18, min_value=0)


class StaffClaimDecisionApi(APIView):
    """Staff: verify, adjust a line (reason), request information (message), recommend, approve, reject (reason)."""

    permission_classes = [HasPerm("claims.review_claim")]

    class InputSerializer(serializers.Serializer):
        """Request body of StaffClaimDecisionApi."""

        class Meta:
            ref_name = "StaffClaimDecisionInput"

        action = serializers.ChoiceField(choices=services.DECISIONS)
        reason = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
        lines = AdjustLineSerializer(many=True, required=False, default=list)
        otp_token = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")

    @extend_schema(
        request=InputSerializer,
        responses={
            200: StaffClaimSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            422: ErrorSerializer,
        },
    )
    def post(self, request: Request, ref: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        claim = selectors.claim_get_for_staff(ref=ref)
        services.claim_decide(
            actor=signed_in_user(request),
            claim=claim,
            action=data.validated_data["action"],
            reason=data.validated_data["reason"],
            adjustments=[
                services.LineAdjustment(line["asset"], line["approved_quantity"])
                for line in data.validated_data["lines"]
            ],
            otp_token=data.validated_data["otp_token"],
        )
        claim = selectors.claim_get_for_staff(ref=ref)
        return Response(StaffClaimSerializer(claim, context={"request": request}).data)


class StaffClaimBatchApi(APIView):
    """Staff (maker): list batches, or build one of the incident's snapshot-matching claims."""

    permission_classes = [HasPerm("claims.review_claim")]

    class InputSerializer(serializers.Serializer):
        """Request body of StaffClaimBatchApi."""

        class Meta:
            ref_name = "StaffClaimBatchInput"

        incident = serializers.SlugField(max_length=32)
        amount_ceiling_jpy = serializers.IntegerField(
            min_value=0, max_value=MAX_JPY, required=False, allow_null=True, default=None
        )
        reason = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")

    @extend_schema(responses=BatchSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(
            BatchSerializer(selectors.claim_batch_list(incident=request.query_params.get("incident")), many=True).data
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: BatchSerializer, 400: ErrorSerializer, 404: ErrorSerializer, 422: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = selectors.incident_get(code=data.validated_data["incident"])
        batch = services.claim_batch_create(
            actor=signed_in_user(request),
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

        batch = serializers.IntegerField(min_value=1, max_value=MAX_ID)
        reason = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
        otp_token = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")

    @extend_schema(
        request=InputSerializer,
        responses={
            200: BatchSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
            422: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        batch = selectors.claim_batch_get(batch_id=data.validated_data["batch"])
        actor = signed_in_user(request)
        services.check_may_approve(actor=actor, otp_token=data.validated_data["otp_token"])
        batch = services.claim_batch_approve(actor=actor, batch=batch, reason=data.validated_data["reason"])
        return Response(BatchSerializer(selectors.claim_batch_get(batch_id=batch.pk)).data)
