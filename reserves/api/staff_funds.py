"""The staff REST API of incident funds: the funding panel, its settings, allocation now, payouts and their retry,
insurer recoveries. Thin: validate input, call one service or selector.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.dispatch import enqueue
from core.errors import ErrorSerializer
from core.roles import HasPerm, signed_in_user
from core.validation import MAX_COUNT, MAX_ID, MAX_JPY, date_in_range
from reserves import selectors, services
from reserves.models import Payout, RecoveryClaim
from reserves.waterfall import rate_text

VIEW = HasPerm("reserves.view_money")


class PayoutSerializer(serializers.ModelSerializer):
    incident_code = serializers.CharField(source="fund.incident_code")
    round = serializers.IntegerField(source="allocation.seq")
    customer_account_id = serializers.CharField(source="entitlement.customer_account_id")

    class Meta:
        model = Payout
        fields = [
            "id",
            "incident_code",
            "claim_ref",
            "customer_account_id",
            "round",
            "amount_jpy",
            "breakdown",
            "method",
            "rail",
            "in_kind",
            "idempotency_key",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "rail_reference",
            "created_at",
            "paid_at",
        ]


class RecoverySerializer(serializers.ModelSerializer):
    incident_code = serializers.CharField(source="fund.incident_code")
    policy_number = serializers.CharField(source="policy.policy_number")
    insurer = serializers.CharField(source="policy.insurer")

    class Meta:
        model = RecoveryClaim
        fields = [
            "id",
            "incident_code",
            "insurer",
            "policy_number",
            "amount_claimed_jpy",
            "settled_jpy",
            "status",
            "notice_due_at",
            "proof_due_at",
            "notice_sent_at",
            "notice_evidence",
            "proof_submitted_at",
            "proof_evidence",
            "settled_at",
            "missing_steps",
        ]

    missing_steps = serializers.SerializerMethodField(help_text="What must be recorded before the insurer can pay.")

    def get_missing_steps(self, recovery: RecoveryClaim) -> list[str]:
        return selectors.recovery_missing_steps(recovery=recovery)


def _summary_json(summary: selectors.FundSummary) -> dict:
    return {
        "incident_code": summary.fund.incident_code,
        "title": summary.fund.title,
        "on_hold": summary.fund.on_hold,
        "base_amount_jpy": summary.fund.base_amount_jpy,
        "expected_loss_jpy": summary.fund.expected_loss_jpy,
        "expected_claimants": summary.fund.expected_claimants,
        "settings_fixed": summary.settings_fixed,
        "claimants": summary.claimants,
        "registered_jpy": summary.registered_jpy,
        "held_back_jpy": summary.population.held_jpy,
        "expected_rest_jpy": summary.population.expected_rest_jpy,
        "base_total_jpy": summary.population.base_total_jpy,
        "loss_basis_jpy": summary.loss_basis_jpy,
        "sources": [
            {"key": s.key, "label": s.label, "planned_jpy": s.planned_jpy, "received_jpy": s.received_jpy}
            for s in summary.sources
        ],
        "shortfall_jpy": summary.shortfall_jpy,
        "planned_rate": rate_text(summary.planned_rate),
        "paid_rate": rate_text(summary.paid_rate),
        "funds_in_hand_jpy": summary.funds_in_hand_jpy,
        "received_jpy": summary.received_jpy,
        "allocated_jpy": summary.allocated_jpy,
        "paid_jpy": summary.paid_jpy,
        "outstanding_jpy": summary.outstanding_jpy,
        "payouts_by_status": summary.payouts_by_status,
        "round": summary.allocation.seq if summary.allocation else 0,
        "rule_version": summary.allocation.rule_version if summary.allocation else "",
        "recoveries": RecoverySerializer(summary.recoveries, many=True).data,
    }


class FundDetailApi(APIView):
    """The incident funding panel as JSON."""

    permission_classes = [VIEW]

    @extend_schema(responses=inline_serializer("FundSummary", {"incident_code": serializers.CharField()}))
    def get(self, request: Request, code: str) -> Response:
        return Response(_summary_json(selectors.fund_summary(fund=selectors.fund_get(incident_code=code))))


class FundSettingsApi(APIView):
    """An incident fund's settings: base amount, expected loss and claimants (until payments start), hold."""

    permission_classes = [HasPerm("reserves.manage_payouts")]

    class SettingsSerializer(serializers.Serializer):
        class Meta:
            ref_name = "FundSettings"

        base_amount_jpy = serializers.IntegerField(min_value=0, max_value=MAX_JPY, required=False)
        expected_loss_jpy = serializers.IntegerField(min_value=0, max_value=MAX_JPY, required=False)
        expected_claimants = serializers.IntegerField(min_value=0, max_value=MAX_COUNT, required=False)
        on_hold = serializers.BooleanField(required=False)
        reason = serializers.CharField(required=False, allow_blank=True, default="", write_only=True, max_length=500)
        settings_fixed = serializers.BooleanField(
            read_only=True, help_text="Payments have started: base amount and expectations no longer change."
        )

    @staticmethod
    def _settings(fund) -> dict:
        return {
            "base_amount_jpy": fund.base_amount_jpy,
            "expected_loss_jpy": fund.expected_loss_jpy,
            "expected_claimants": fund.expected_claimants,
            "on_hold": fund.on_hold,
            "settings_fixed": services.fund_payments_started(fund=fund),
        }

    @extend_schema(responses={200: SettingsSerializer, 404: ErrorSerializer})
    def get(self, request: Request, code: str) -> Response:
        return Response(self._settings(selectors.fund_get(incident_code=code)))

    @extend_schema(
        request=SettingsSerializer,
        responses={200: SettingsSerializer, 400: ErrorSerializer, 404: ErrorSerializer, 422: ErrorSerializer},
    )
    def post(self, request: Request, code: str) -> Response:
        data = self.SettingsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        fund = selectors.fund_get(incident_code=code)
        on_hold, reason = values.pop("on_hold", None), values.pop("reason", "")
        if values:
            fund = services.incident_fund_configure(actor=signed_in_user(request), fund=fund, **values)
        if on_hold is not None:
            fund = services.incident_fund_hold(actor=signed_in_user(request), fund=fund, on_hold=on_hold, reason=reason)
        return Response(self._settings(selectors.fund_get(incident_code=code)))


class FundAllocateApi(APIView):
    """Run the allocation for an incident now (it also runs on every registration and funding)."""

    permission_classes = [HasPerm("reserves.manage_payouts")]

    @extend_schema(request=None, responses={202: inline_serializer("Queued", {"queued": serializers.BooleanField()})})
    def post(self, request: Request, code: str) -> Response:
        fund = selectors.fund_get(incident_code=code)
        enqueue("reserves.incident_allocate", fund.incident_code, f"requested by {request.user.get_username()}")
        return Response({"queued": True}, status=status.HTTP_202_ACCEPTED)


class PayoutListApi(generics.ListAPIView):
    """Payouts with filters: incident, status, method, rail, q (claim or account), sort."""

    permission_classes = [VIEW]
    serializer_class = PayoutSerializer
    filter_backends: list = []

    @extend_schema(
        parameters=[OpenApiParameter(name, str) for name in ("incident", "status", "method", "rail", "q", "sort")]
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        return selectors.payout_list(
            incident_code=params.get("incident"),
            status=params.get("status"),
            method=params.get("method"),
            rail=params.get("rail"),
            search=params.get("q"),
            sort=params.get("sort"),
        )


class PayoutRetryApi(APIView):
    """Staff retry of failed payouts."""

    permission_classes = [HasPerm("reserves.manage_payouts")]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PayoutRetryInput"

        payout_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=MAX_ID), allow_empty=False
        )
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        request=InputSerializer,
        responses={200: inline_serializer("Retried", {"retried": serializers.ListField()}), 409: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payouts = services.payouts_retry(actor=signed_in_user(request), **data.validated_data)
        return Response({"retried": [p.pk for p in payouts]})


class RecoveryActionApi(APIView):
    """Record a step of an insurer recovery: notice, proof, settle (amount and reference) or deny (reason)."""

    permission_classes = [HasPerm("reserves.manage_policy")]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RecoveryActionInput"

        at = serializers.DateTimeField(
            validators=[date_in_range], required=False, help_text="When the step was taken (default: now)."
        )
        evidence = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=300, help_text="Notice and proof: what shows it."
        )
        amount_jpy = serializers.IntegerField(required=False, min_value=1, max_value=MAX_JPY)
        reference = serializers.CharField(required=False, max_length=64)
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        request=InputSerializer,
        responses={200: RecoverySerializer, 400: ErrorSerializer, 409: ErrorSerializer, 422: ErrorSerializer},
    )
    def post(self, request: Request, recovery_id: int, action: str) -> Response:
        from django.utils import timezone

        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        recovery = selectors.recovery_get(recovery_id=recovery_id)
        when = values.get("at") or timezone.now()
        evidence = values["evidence"]
        if action == "notice":
            recovery = services.recovery_notice_record(
                actor=signed_in_user(request), recovery=recovery, sent_at=when, evidence=evidence
            )
        elif action == "proof":
            recovery = services.recovery_proof_record(
                actor=signed_in_user(request), recovery=recovery, submitted_at=when, evidence=evidence
            )
        elif action == "deny":
            recovery = services.recovery_deny(actor=signed_in_user(request), recovery=recovery, reason=values["reason"])
        else:
            if "amount_jpy" not in values or "reference" not in values:
                raise serializers.ValidationError({"amount_jpy": [_("required")], "reference": [_("required")]})
            recovery = services.recovery_settle(
                actor=signed_in_user(request),
                recovery=recovery,
                amount_jpy=values["amount_jpy"],
                reference=values["reference"],
                received_at=when,
            )
        return Response(RecoverySerializer(selectors.recovery_get(recovery_id=recovery.pk)).data)
