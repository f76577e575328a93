"""The regulator's incident API (read-only): GET /api/regulator/incidents/ and …/{code}/summary/."""

from decimal import ROUND_DOWN

from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.liabilities import liabilities_latest, liabilities_summary
from claims.selectors import regulator
from core.errors import ErrorSerializer, InvalidInput, NotFound
from core.exports import StreamedExportMixin
from core.roles import IsRegulator


class SummaryIncidentSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    detected_at = serializers.DateTimeField()


class SourceBorneSerializer(serializers.Serializer):
    key = serializers.CharField(help_text='"reserve" or "policy:<number>"')
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    planned_jpy = serializers.IntegerField(help_text="what the latest allocation round draws on this source")
    received_jpy = serializers.IntegerField(help_text="drawn into the incident's pool so far")
    paid_jpy = serializers.IntegerField(help_text="borne by this source in payouts that reached claimants")


class PaidDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    paid_jpy = serializers.IntegerField()


class IncidentSummarySerializer(serializers.Serializer):
    """Yen are integers; rates and days are exact decimal strings (days to one decimal place)."""

    incident = SummaryIncidentSerializer()
    affected_customers = serializers.IntegerField(help_text="customers in the balance snapshot")
    claims_total = serializers.IntegerField()
    claims_by_status = serializers.DictField(child=serializers.IntegerField())
    eligible_loss_jpy = serializers.IntegerField(help_text="sum of approved claims registered for payout")
    loss_basis_jpy = serializers.IntegerField(
        help_text="the loss the rate is computed over: registered, held back and still expected (docs/money.md)"
    )
    paid_jpy = serializers.IntegerField()
    outstanding_jpy = serializers.IntegerField()
    distribution_rate = serializers.DecimalField(
        max_digits=11,
        decimal_places=10,
        rounding=ROUND_DOWN,
        help_text="planned share of each claim the funds cover (0-1)",
    )
    paid_rate = serializers.DecimalField(
        max_digits=11,
        decimal_places=10,
        rounding=ROUND_DOWN,
        help_text="share paid out so far in the latest round (0-1)",
    )
    sources = SourceBorneSerializer(many=True)
    first_paid_at = serializers.DateTimeField(allow_null=True)
    days_to_first_payout = serializers.CharField(allow_null=True)
    milestone_paid_at = serializers.DateTimeField(allow_null=True, help_text="when 90% of the eligible loss was paid")
    days_to_90_percent_paid = serializers.CharField(allow_null=True)
    paid_per_day = serializers.SerializerMethodField()
    returned_count = serializers.IntegerField(help_text="payouts returned, waiting for corrected details")
    returned_jpy = serializers.IntegerField()
    unclaimed_count = serializers.IntegerField(help_text="payouts unclaimed past the deadline, held for deposit")
    unclaimed_jpy = serializers.IntegerField()
    as_of = serializers.DateTimeField(
        help_text="when these figures were read: at most REGULATOR_SUMMARY_CACHE_SECONDS (default 1) before the answer"
    )

    @extend_schema_field(PaidDaySerializer(many=True))
    def get_paid_per_day(self, summary: regulator.IncidentSummary) -> list[dict]:
        return [{"date": day.isoformat(), "paid_jpy": amount} for day, amount in summary.paid_per_day]


class RegulatorIncidentListApi(APIView):
    """Every incident's summary (regulators and admins; read-only)."""

    permission_classes = [IsRegulator]

    @extend_schema(responses={200: IncidentSummarySerializer(many=True), 403: ErrorSerializer})
    def get(self, request: Request) -> Response:
        return Response(IncidentSummarySerializer(regulator.incident_summaries(), many=True).data)


class RegulatorIncidentSummaryApi(APIView):
    """One incident: affected customers, claims by status, eligible loss, paid, sources, speed of payment."""

    permission_classes = [IsRegulator]

    @extend_schema(responses={200: IncidentSummarySerializer, 403: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request: Request, code: str) -> Response:
        return Response(IncidentSummarySerializer(regulator.incident_summary(code=code)).data)


class RegulatorClaimSerializer(serializers.Serializer):
    ref = serializers.CharField()
    account_id = serializers.CharField()
    status = serializers.ChoiceField(choices=regulator.CLAIM_STATUSES)
    amount_jpy = serializers.IntegerField(help_text="value of the quantities allowed so far (claimed, before review)")
    approved_amount_jpy = serializers.IntegerField(allow_null=True)
    paid_jpy = serializers.IntegerField(help_text="paid so far")
    outstanding_jpy = serializers.SerializerMethodField(help_text="approved and not yet paid")
    paid_rate = serializers.SerializerMethodField(help_text="paid / approved (0-1, ten places); empty before approval")
    submitted_at = serializers.DateTimeField()
    approved_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True, help_text="when paid in full")

    def get_outstanding_jpy(self, row: dict) -> int:
        return regulator.claim_outstanding_jpy(row)

    def get_paid_rate(self, row: dict) -> str:
        return regulator.claim_paid_rate(row)


class ClaimCursorPagination(CursorPagination):
    ordering = "id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000


class RegulatorIncidentClaimsApi(StreamedExportMixin, generics.GenericAPIView):
    """An incident's claims with paid so far and outstanding; `?format=csv` or `jsonl` streams every one."""

    permission_classes = [IsRegulator]
    pagination_class = ClaimCursorPagination
    serializer_class = RegulatorClaimSerializer
    filter_backends: list = []

    @extend_schema(
        operation_id="regulator_incident_claims_list",
        parameters=[
            OpenApiParameter("status", str, enum=regulator.CLAIM_STATUSES),
            OpenApiParameter("page_size", int, description="at most 1000"),
            OpenApiParameter("format", str, enum=["json", "csv", "jsonl"]),
        ],
        responses={
            200: RegulatorClaimSerializer(many=True),
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def get(self, request: Request, code: str) -> Response | StreamingHttpResponse:
        status = request.query_params.get("status") or None
        if status is not None and status not in regulator.CLAIM_STATUSES:
            raise InvalidInput(
                "invalid", _("Unknown claim status."), extra={"fields": {"status": [_("unknown status")]}}
            )
        rows = regulator.incident_claims(code=code, status=status)
        export = self.streamed_export(rows=rows, columns=regulator.CLAIM_COLUMNS, filename_stem=f"claims-{code}")
        if export is not None:
            return export
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(RegulatorClaimSerializer(page, many=True).data)


class RegulatorIncidentLiabilitiesApi(APIView):
    """The incident's newest proof of liabilities (signed total, count, root) beside the eligible loss it must equal."""

    permission_classes = [IsRegulator]

    @extend_schema(
        responses={
            200: inline_serializer(
                "IncidentLiabilities",
                {
                    "incident": serializers.CharField(),
                    "count": serializers.IntegerField(),
                    "total_jpy": serializers.IntegerField(),
                    "root": serializers.CharField(),
                    "published_at": serializers.CharField(),
                    "audit_seq": serializers.IntegerField(),
                    "note": serializers.CharField(),
                    "eligible_loss_jpy": serializers.IntegerField(),
                    "matches_eligible_loss": serializers.BooleanField(),
                },
            ),
            403: ErrorSerializer,
            404: ErrorSerializer,
        }
    )
    def get(self, request: Request, code: str) -> Response:
        summary = regulator.incident_summary(code=code)
        tree = liabilities_latest(incident_code=code)
        if tree is None:
            raise NotFound("not_found", _("No proof of liabilities is published for this incident yet."))
        eligible = summary.eligible_loss_jpy
        body = liabilities_summary(tree) | {
            "eligible_loss_jpy": eligible,
            "matches_eligible_loss": tree.total_jpy == eligible,
        }
        return Response(body)
