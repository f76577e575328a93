"""Output serializers of a claim as its owner sees it (the staff view extends ClaimSerializer)."""

from decimal import ROUND_DOWN

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from claims import services
from claims.models import Claim, ClaimLine, Evidence


class ClaimLineSerializer(serializers.Serializer):
    asset = serializers.CharField(source="asset.symbol")
    snapshot_quantity = serializers.DecimalField(max_digits=38, decimal_places=18)
    claimed_quantity = serializers.DecimalField(max_digits=38, decimal_places=18)
    approved_quantity = serializers.DecimalField(
        max_digits=38, decimal_places=18, help_text="the reviewers' working quantity; decided_quantity is final"
    )
    decided_quantity = serializers.SerializerMethodField(
        help_text="what the approvers decided; null until the claim is approved (what the customer's page shows)"
    )
    reference_price_jpy = serializers.DecimalField(
        source="asset.reference_price_jpy", max_digits=28, decimal_places=8, allow_null=True
    )
    value_jpy = serializers.IntegerField()
    reason = serializers.CharField()
    adjustment_reason = serializers.CharField()

    @extend_schema_field(serializers.DecimalField(max_digits=38, decimal_places=18, allow_null=True))
    def get_decided_quantity(self, line: ClaimLine) -> str | None:
        if not services.claim_is_decided(line.claim):
            return None
        decided = line.decided_quantity if line.decided_quantity is not None else line.approved_quantity
        return serializers.DecimalField(max_digits=38, decimal_places=18).to_representation(decided)


class TimelineSerializer(serializers.Serializer):
    status = serializers.CharField()
    label = serializers.CharField(source="get_status_display")  # type: ignore[assignment]  # a field, not Field.label
    note = serializers.CharField(source="text", help_text="in the language asked for (payments: amount and rate)")
    at = serializers.DateTimeField(source="created_at")


class EvidenceSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = ["id", "file_name", "content_type", "size", "sha256", "uploaded_at", "url"]

    def get_url(self, item: Evidence) -> str:
        return reverse("claims:api-claim-evidence-file", kwargs={"ref": item.claim.ref, "evidence_id": item.pk})


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
