"""The customer's API: incidents that affect me, my holdings, filing and following my claims, my receipts.

Evidence files and receipts are also open to staff; anyone else gets 404, never 403.
"""

from typing import Any

from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.second_factor import passkey_recently_used
from audit.views import receipt_json_response
from claims import selectors, services
from claims.api.serializers import ClaimSerializer, EvidenceSerializer, PaymentFieldsMixin
from claims.downloads import evidence_response
from claims.models import Claim, Customer, Incident, PayoutChoice
from core.errors import ErrorSerializer, NotFound
from core.roles import IsCustomer
from reserves.selectors.liabilities import liability_proof_for_claim
from reserves.selectors.receipts import ReceiptSummary


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


class HoldingSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=38, decimal_places=18)
    reference_price_jpy = serializers.DecimalField(max_digits=28, decimal_places=8, allow_null=True)
    price_source = serializers.CharField()
    value_jpy = serializers.IntegerField(allow_null=True)


class CustomerIncidentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Incident
        fields = [
            "code",
            "title",
            "description",
            "status",
            "snapshot_base_time",
            "claim_opens_at",
            "claim_closes_at",
            "allows_in_kind",
        ]


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


class CustomerIncidentListApi(APIView):
    """Customer: incidents open for claims that affect me."""

    permission_classes = [IsCustomer]

    @extend_schema(responses=CustomerIncidentSerializer(many=True))
    def get(self, request: Request) -> Response:
        customer = selectors.customer_for_user(user=request.user)
        incidents = selectors.incident_list_for_customer(customer=customer)
        return Response(CustomerIncidentSerializer(incidents, many=True).data)


class CustomerHoldingsApi(APIView):
    """Customer: my snapshot holdings in an incident, with reference prices and JPY values."""

    permission_classes = [IsCustomer]

    @extend_schema(responses={200: HoldingSerializer(many=True), 404: ErrorSerializer})
    def get(self, request: Request, code: str) -> Response:
        customer = selectors.customer_for_user(user=request.user)
        incident = selectors.incident_get_for_customer(customer=customer, code=code)
        holdings = selectors.holding_values_for_customer(customer=customer, incident=incident)
        return Response(HoldingSerializer(holdings, many=True).data)


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
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                {"type": "string", "minLength": 1, "maxLength": 128},
                OpenApiParameter.HEADER,
                required=True,
            )
        ],
        responses={
            201: ClaimSerializer,
            200: OpenApiResponse(ClaimSerializer, description="Same key and body as before: the first claim."),
            400: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
            422: ErrorSerializer,
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
        if result.created:  # the claim comes back with everything it was filed with: nothing to read again
            return Response(ClaimSerializer(result.claim).data, status=201)
        return _claim_response(result.claim)


class ClaimDetailApi(APIView):
    """Customer: one of my claims with its lines, timeline, evidence and (masked) payout choice."""

    permission_classes = [IsCustomer]

    @extend_schema(responses={200: ClaimSerializer, 404: ErrorSerializer})
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

    @extend_schema(
        request=InputSerializer,
        responses={
            200: ClaimSerializer,
            400: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
            422: ErrorSerializer,
        },
    )
    def post(self, request: Request, ref: str) -> Response:
        # Another's claim is a 404 whatever the body says (as for the payout change).
        customer = selectors.customer_for_user(user=request.user)
        claim = selectors.claim_get_for_customer(customer=customer, ref=ref)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        claim = services.claim_appeal(customer=customer, claim=claim, reason=data.validated_data["reason"])
        return _claim_response(claim)


def _guarded_change(request: Request, ref: str) -> tuple[Customer, Claim, dict[str, Any]]:
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

    @extend_schema(
        request=PayoutChangeSerializer,
        responses={200: ClaimSerializer, 400: ErrorSerializer, 403: ErrorSerializer, 422: ErrorSerializer},
    )
    def put(self, request: Request, ref: str) -> Response:
        customer, claim, change = _guarded_change(request, ref)
        services.claim_payout_set(customer=customer, claim=claim, **change)
        return _claim_response(claim)


class ClaimPayoutCorrectionApi(APIView):
    """Customer: corrected payout details after a payment came back (reviewed, then paid again once)."""

    permission_classes = [IsCustomer]

    @extend_schema(
        request=PayoutChangeSerializer,
        responses={201: ClaimSerializer, 400: ErrorSerializer, 403: ErrorSerializer, 409: ErrorSerializer},
    )
    def post(self, request: Request, ref: str) -> Response:
        customer, claim, change = _guarded_change(request, ref)
        services.payout_correction_request(customer=customer, claim=claim, **change)
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

    @extend_schema(
        request=InputSerializer, responses={200: ClaimSerializer, 400: ErrorSerializer, 422: ErrorSerializer}
    )
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
        responses={
            201: EvidenceSerializer(many=True),
            400: ErrorSerializer,
            404: ErrorSerializer,
            422: ErrorSerializer,
        },
    )
    def post(self, request: Request, ref: str) -> Response:
        customer = selectors.customer_for_user(user=request.user)
        claim = selectors.claim_get_for_customer(customer=customer, ref=ref)
        stored = services.claim_evidence_add(customer=customer, claim=claim, files=request.FILES.getlist("files"))
        return Response(EvidenceSerializer(stored, many=True).data, status=201)


class EvidenceDownloadApi(APIView):
    """The owner or staff: download an evidence file (404 for anyone else)."""

    @extend_schema(responses={(200, "application/octet-stream"): bytes, 404: ErrorSerializer})
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
        return reverse("claims:api-claim-receipt", kwargs={"ref": ref, "receipt_id": item.id})


class ClaimReceiptListApi(APIView):
    """The owner or staff: the signed receipts of a claim's payouts (one per payout; 404 for anyone else)."""

    @extend_schema(responses={200: ReceiptSummarySerializer(many=True), 404: ErrorSerializer})
    def get(self, request: Request, ref: str) -> Response:
        claim = selectors.claim_for_user(user=request.user, ref=ref)
        return Response(ReceiptSummarySerializer(selectors.claim_receipts(claim=claim), many=True).data)


class ClaimReceiptApi(APIView):
    """The owner or staff: one receipt, the signed JSON document as a download (check it at /verify/)."""

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT, 404: ErrorSerializer})
    def get(self, request: Request, ref: str, receipt_id: str) -> HttpResponse:
        claim = selectors.claim_for_user(user=request.user, ref=ref)
        return receipt_json_response(receipt=selectors.claim_receipt_get(claim=claim, receipt_id=receipt_id))


class ClaimLiabilitiesProofApi(APIView):
    """The owner or staff: the claim's proof that it is counted in the incident's signed total of liabilities."""

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT, 404: ErrorSerializer})
    def get(self, request: Request, ref: str) -> Response:
        claim = selectors.claim_for_user(user=request.user, ref=ref)
        proof = liability_proof_for_claim(incident_code=claim.incident.code, claim_ref=claim.ref)
        if proof is None:
            raise NotFound("not_found", _("No proof of liabilities holds this claim yet."))
        return Response(proof)


class ClaimLatestReceiptApi(APIView):
    """The owner or staff: the receipt of the claim's latest paid payout (404 until there is one)."""

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT, 404: ErrorSerializer})
    def get(self, request: Request, ref: str) -> HttpResponse:
        claim = selectors.claim_for_user(user=request.user, ref=ref)
        receipts = selectors.claim_receipts(claim=claim)
        if not receipts:
            raise NotFound("not_found", _("This claim has no payout receipt yet."))
        return receipt_json_response(receipt=receipts[-1].receipt)
