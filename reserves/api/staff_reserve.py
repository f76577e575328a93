"""The staff REST API of the liability reserve: its position, fundings and replenishments (maker-checker), insurance
policies. Thin: validate input, call one service or selector.
"""

from decimal import Decimal

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ErrorSerializer
from core.roles import HasPerm, signed_in_user
from core.validation import MAX_COUNT, MAX_JPY, date_in_range
from reserves import selectors, services
from reserves.models import InsurancePolicy, ReserveFunding

VIEW = HasPerm("reserves.view_money")


class FundingSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReserveFunding
        fields = [
            "id",
            "kind",
            "amount_jpy",
            "reference",
            "note",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_reason",
        ]


class PolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = InsurancePolicy
        fields = [
            "id",
            "insurer",
            "policy_number",
            "period_start",
            "period_end",
            "layer_order",
            "retention_jpy",
            "per_occurrence_limit_jpy",
            "aggregate_limit_jpy",
            "coinsurance_share",
            "exclusions",
            "created_by",
            "created_at",
        ]


class ReservePositionApi(APIView):
    """The reserve's balance against its required minimum."""

    permission_classes = [VIEW]

    @extend_schema(
        responses=inline_serializer(
            "ReservePosition",
            {
                "balance_jpy": serializers.IntegerField(),
                "required_jpy": serializers.IntegerField(),
                "floor_jpy": serializers.IntegerField(),
                "custody_percent": serializers.CharField(),
                "custody_value_jpy": serializers.IntegerField(),
                "below_minimum": serializers.BooleanField(),
                "gap_jpy": serializers.IntegerField(),
            },
        )
    )
    def get(self, request: Request) -> Response:
        position = selectors.reserve_position()
        return Response(
            {
                "balance_jpy": position.balance_jpy,
                "required_jpy": position.required_jpy,
                "floor_jpy": position.floor_jpy,
                "custody_percent": str(position.custody_percent),
                "custody_value_jpy": position.custody_value_jpy,
                "below_minimum": position.below_minimum,
                "gap_jpy": position.gap_jpy,
            }
        )


class FundingListApi(generics.GenericAPIView):
    """List reserve fundings, or request one (the maker's step; `Idempotency-Key` header)."""

    serializer_class = FundingSerializer
    filter_backends: list = []

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "FundingRequestInput"

        kind = serializers.ChoiceField(choices=ReserveFunding.Kind.choices)
        amount_jpy = serializers.IntegerField(min_value=1, max_value=MAX_JPY)
        reference = serializers.CharField(max_length=100)
        note = serializers.CharField(required=False, allow_blank=True, default="")

    def get_permissions(self) -> list:
        return [HasPerm("reserves.fund_reserve")()] if self.request.method == "POST" else [VIEW()]

    @extend_schema(parameters=[OpenApiParameter("status", str)], responses=FundingSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.funding_list(status=request.query_params.get("status")))
        return self.get_paginated_response(FundingSerializer(page, many=True).data)

    @extend_schema(
        request=InputSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", {"type": "string", "maxLength": 100}, OpenApiParameter.HEADER)],
        responses={201: FundingSerializer, 200: FundingSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key", "")
        replay = (
            bool(key)
            and selectors.funding_list().filter(requested_by=request.user.get_username(), idempotency_key=key).exists()
        )
        funding = services.funding_request(actor=signed_in_user(request), idempotency_key=key, **data.validated_data)
        return Response(FundingSerializer(funding).data, status=200 if replay else 201)


class FundingDecisionApi(APIView):
    """The checker's step: approve or reject a funding request (a different person from the maker)."""

    permission_classes = [HasPerm("reserves.approve_funding")]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "FundingDecisionInput"

        reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="staff_reserve_funding_decide",
        request=InputSerializer,
        responses={200: FundingSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
    )
    def post(self, request: Request, funding_id: int, decision: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        funding = selectors.funding_get(funding_id=funding_id)
        if decision == "approve":
            funding = services.funding_approve(actor=signed_in_user(request), funding=funding)
        else:
            funding = services.funding_reject(
                actor=signed_in_user(request), funding=funding, reason=data.validated_data["reason"]
            )
        return Response(FundingSerializer(funding).data)


class PolicyListApi(generics.GenericAPIView):
    """List insurance policies, or register one."""

    serializer_class = PolicySerializer
    filter_backends: list = []

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PolicyInput"

        insurer = serializers.CharField(max_length=200)
        policy_number = serializers.CharField(max_length=64)
        period_start = serializers.DateTimeField(validators=[date_in_range])
        period_end = serializers.DateTimeField(validators=[date_in_range])
        layer_order = serializers.IntegerField(min_value=1, max_value=MAX_COUNT)
        retention_jpy = serializers.IntegerField(min_value=0, max_value=MAX_JPY)
        per_occurrence_limit_jpy = serializers.IntegerField(min_value=1, max_value=MAX_JPY)
        aggregate_limit_jpy = serializers.IntegerField(min_value=1, max_value=MAX_JPY)
        coinsurance_share = serializers.DecimalField(max_digits=5, decimal_places=4, default=Decimal("1"))
        exclusions = serializers.CharField(required=False, allow_blank=True, default="")

    def get_permissions(self) -> list:
        return [HasPerm("reserves.manage_policy")()] if self.request.method == "POST" else [VIEW()]

    @extend_schema(responses=PolicySerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.policy_list())
        return self.get_paginated_response(PolicySerializer(page, many=True).data)

    @extend_schema(
        request=InputSerializer, responses={201: PolicySerializer, 400: ErrorSerializer, 409: ErrorSerializer}
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        policy = services.policy_register(
            actor=signed_in_user(request), data=services.PolicyInput(**data.validated_data)
        )
        return Response(PolicySerializer(policy).data, status=status.HTTP_201_CREATED)
