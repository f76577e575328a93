"""The regulator's REST API of the reserves app: payout history and exports, the reserve, insurance usage.

Read-only: `IsRegulator` lets regulators and admins GET and answers any
write with 403. Every request is itself audited (audit.middleware).
Thin: a form validates the query, a selector of reserves/selectors/ reads.
"""

from typing import TypeVar

from django import forms
from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ErrorSerializer, InvalidInput
from core.exports import StreamedExportMixin
from core.roles import IsRegulator
from reserves.forms import RegulatorPayoutFilterForm, ReserveRangeForm
from reserves.selectors import insurance, reserve
from reserves.selectors import payout_history as history

FormT = TypeVar("FormT", bound=forms.Form)


def _valid(form: FormT, detail: str) -> FormT:
    """The form, or 400 {"error": "invalid", "detail", "fields": {name: [messages]}}."""
    if not form.is_valid():
        raise InvalidInput(
            "invalid", detail, extra={"fields": {name: list(errors) for name, errors in form.errors.items()}}
        )
    return form


def _query(request: Request) -> dict:
    params = request.query_params.copy()
    for name in ("format", "cursor", "page_size"):
        params.pop(name, None)
    return params


class PayoutHistorySerializer(serializers.Serializer):
    """One payout as the regulator sees it (never a bank account number)."""

    id = serializers.IntegerField()
    incident = serializers.CharField()
    claim_ref = serializers.CharField()
    customer_account_id = serializers.CharField()
    customer_name = serializers.CharField()
    round = serializers.IntegerField(help_text="allocation round that made this payout (1 = first payment)")
    amount_jpy = serializers.IntegerField()
    reserve_jpy = serializers.SerializerMethodField()
    insurance_jpy = serializers.SerializerMethodField()
    breakdown = serializers.DictField(
        child=serializers.IntegerField(), help_text='yen per source: "reserve", "policy:<number>"'
    )
    method = serializers.CharField()
    rail = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    rail_reference = serializers.CharField()
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)

    def get_reserve_jpy(self, row: dict) -> int:
        return history.reserve_part(row)

    def get_insurance_jpy(self, row: dict) -> int:
        return history.insurance_part(row)


class PayoutCursorPagination(CursorPagination):
    """Newest first by id: stable while payouts are added, and no COUNT over a million rows."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000


FILTER_PARAMETERS = [
    OpenApiParameter("incident", str, description="incident code"),
    OpenApiParameter("status", str, enum=["pending", "submitted", "paid", "failed"]),
    OpenApiParameter("source", str, description='"reserve" or "policy:<number>": payouts drawing on it'),
    OpenApiParameter("created_since", OpenApiTypes.DATETIME),
    OpenApiParameter("created_until", OpenApiTypes.DATETIME, description="exclusive"),
    OpenApiParameter("paid_since", OpenApiTypes.DATETIME),
    OpenApiParameter("paid_until", OpenApiTypes.DATETIME, description="exclusive"),
    OpenApiParameter("amount_min", int, description="yen, inclusive"),
    OpenApiParameter("amount_max", int, description="yen, inclusive"),
]


class RegulatorPayoutListApi(StreamedExportMixin, generics.GenericAPIView):
    """Payout history with filters. `?format=csv` or `?format=jsonl` streams every match, by id."""

    permission_classes = [IsRegulator]
    pagination_class = PayoutCursorPagination
    serializer_class = PayoutHistorySerializer
    filter_backends: list = []

    @extend_schema(
        operation_id="regulator_payouts_list",
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("page_size", int, description="at most 1000"),
            OpenApiParameter("format", str, enum=["json", "csv", "jsonl"]),
        ],
        responses={200: PayoutHistorySerializer(many=True), 400: ErrorSerializer, 403: ErrorSerializer},
    )
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        form = _valid(RegulatorPayoutFilterForm(_query(request)), _("Invalid payout filters."))
        rows = history.payout_history(filters=form.filters())
        export = self.streamed_export(rows=rows, columns=history.PAYOUT_COLUMNS, filename_stem="payouts")
        if export is not None:
            return export
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(PayoutHistorySerializer(page, many=True).data)


class ReservePointSerializer(serializers.Serializer):
    date = serializers.DateField(source="day")
    balance_jpy = serializers.IntegerField(help_text="at the end of the day (Asia/Tokyo)")
    required_jpy = serializers.IntegerField()
    custody_value_jpy = serializers.IntegerField()
    below_minimum = serializers.BooleanField()


class ReserveMovementSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="transfer_id")
    at = serializers.DateTimeField()
    kind = serializers.CharField(help_text="funding, replenishment or draw")
    amount_jpy = serializers.IntegerField(help_text="+ into the reserve, - out of it")
    incident_code = serializers.CharField()
    reference = serializers.CharField()
    balance_after_jpy = serializers.IntegerField()


class ReserveOverviewSerializer(serializers.Serializer):
    balance_jpy = serializers.IntegerField(source="position.balance_jpy")
    required_jpy = serializers.IntegerField(source="position.required_jpy")
    floor_jpy = serializers.IntegerField(source="position.floor_jpy")
    custody_percent = serializers.CharField(source="position.custody_percent")
    custody_value_jpy = serializers.IntegerField(source="position.custody_value_jpy")
    custody_as_of = serializers.DateTimeField(source="position.custody_as_of", allow_null=True)
    below_minimum = serializers.BooleanField(source="position.below_minimum")
    gap_jpy = serializers.IntegerField(source="position.gap_jpy")
    drawn_for_incidents_jpy = serializers.IntegerField(source="position.drawn_for_incidents_jpy")
    since = serializers.SerializerMethodField()
    until = serializers.SerializerMethodField()
    series = ReservePointSerializer(many=True)
    movements = ReserveMovementSerializer(many=True)

    def get_since(self, overview: reserve.ReserveOverview) -> str | None:
        return overview.series[0].day.isoformat() if overview.series else None

    def get_until(self, overview: reserve.ReserveOverview) -> str | None:
        return overview.series[-1].day.isoformat() if overview.series else None


class RegulatorReserveApi(APIView):
    """The reserve now against its required minimum, one point per day (`since`..`until`, default the last 90
    days), and its latest movements."""

    permission_classes = [IsRegulator]

    @extend_schema(
        operation_id="regulator_reserve",
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATE, description="first day (default: 89 days before until)"),
            OpenApiParameter("until", OpenApiTypes.DATE, description="last day, included (default: today)"),
        ],
        responses={200: ReserveOverviewSerializer, 400: ErrorSerializer, 403: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        form = _valid(ReserveRangeForm(_query(request)), _("Invalid date range."))
        overview = reserve.reserve_overview(since=form.cleaned_data["since"], until=form.cleaned_data["until"])
        return Response(ReserveOverviewSerializer(overview).data)


class RecoveryUsageSerializer(serializers.Serializer):
    recovery_id = serializers.IntegerField()
    incident_code = serializers.CharField()
    status = serializers.CharField()
    claimed_jpy = serializers.IntegerField()
    settled_jpy = serializers.IntegerField()
    paid_to_claimants_jpy = serializers.IntegerField()
    notice_due_at = serializers.DateTimeField()
    notice_sent_at = serializers.DateTimeField(allow_null=True)
    proof_due_at = serializers.DateTimeField()
    proof_submitted_at = serializers.DateTimeField(allow_null=True)
    settled_at = serializers.DateTimeField(allow_null=True)
    notice_overdue = serializers.BooleanField()
    proof_overdue = serializers.BooleanField()


class PolicyUsageSerializer(serializers.Serializer):
    insurer = serializers.CharField()
    policy_number = serializers.CharField()
    # Named like Field.source; DRF's metaclass takes declared fields off the class, so the two do not clash.
    source = serializers.CharField(help_text="its key in payouts' breakdown")  # type: ignore[assignment]
    layer_order = serializers.IntegerField()
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    in_force = serializers.BooleanField()
    retention_jpy = serializers.IntegerField()
    per_occurrence_limit_jpy = serializers.IntegerField()
    aggregate_limit_jpy = serializers.IntegerField()
    coinsurance_share = serializers.DecimalField(max_digits=5, decimal_places=4)
    exclusions = serializers.CharField()
    claimed_jpy = serializers.IntegerField()
    settled_jpy = serializers.IntegerField()
    paid_to_claimants_jpy = serializers.IntegerField()
    aggregate_used_jpy = serializers.IntegerField()
    aggregate_remaining_jpy = serializers.IntegerField()
    recoveries = RecoveryUsageSerializer(many=True)


class RegulatorInsuranceApi(APIView):
    """Usage of each insurance policy, by layer: terms, recoveries per incident, paid to claimants, aggregate left."""

    permission_classes = [IsRegulator]

    @extend_schema(
        operation_id="regulator_insurance", responses={200: PolicyUsageSerializer(many=True), 403: ErrorSerializer}
    )
    def get(self, request: Request) -> Response:
        return Response(PolicyUsageSerializer(insurance.insurance_usage(), many=True).data)
