"""The staff API of incidents: declare one with its assets, set prices, import the snapshot, move it along."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from claims import selectors, services
from claims.models import Incident, IncidentAsset
from core.errors import ErrorSerializer
from core.roles import HasPerm, IsStaffMember, signed_in_user
from core.validation import date_in_range


class AssetSerializer(serializers.ModelSerializer):
    class Meta:
        model = IncidentAsset
        fields = [
            "symbol",
            "quantity_lost",
            "wallet_type",
            "reference_price_jpy",
            "price_source",
            "price_method",
            "price_window_start",
            "price_window_end",
        ]


class SnapshotSerializer(serializers.Serializer):
    sha256 = serializers.CharField()
    file_name = serializers.CharField()
    row_count = serializers.IntegerField()
    customer_count = serializers.IntegerField()
    imported_at = serializers.DateTimeField()
    imported_by = serializers.CharField()


class IncidentSerializer(serializers.ModelSerializer):
    assets = AssetSerializer(many=True, read_only=True)
    snapshot = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "code",
            "title",
            "description",
            "status",
            "occurred_at",
            "detected_at",
            "snapshot_base_time",
            "claim_opens_at",
            "claim_closes_at",
            "allows_in_kind",
            "prices_locked_at",
            "assets",
            "snapshot",
        ]

    def get_snapshot(self, incident: Incident) -> dict | None:
        snapshot = getattr(incident, "snapshot", None)
        return SnapshotSerializer(snapshot).data if snapshot else None


class AssetInputSerializer(serializers.Serializer):
    symbol = serializers.RegexField(r"^[A-Za-z0-9-]{1,16}$")
    quantity_lost = serializers.DecimalField(max_digits=38, decimal_places=18, min_value=0)
    wallet_type = serializers.ChoiceField(choices=IncidentAsset.WalletType.choices)
    reference_price_jpy = serializers.DecimalField(
        max_digits=28, decimal_places=8, required=False, allow_null=True, min_value=0
    )
    price_source = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    price_method = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    price_window_start = serializers.DateTimeField(
        validators=[date_in_range], required=False, allow_null=True, default=None
    )
    price_window_end = serializers.DateTimeField(
        validators=[date_in_range], required=False, allow_null=True, default=None
    )


class StaffIncidentListApi(generics.GenericAPIView):
    """Staff: list incidents, or declare one (draft) with its assets."""

    serializer_class = IncidentSerializer
    filter_backends: list = []

    class InputSerializer(serializers.Serializer):
        """Request body of StaffIncidentListApi."""

        class Meta:
            ref_name = "StaffIncidentListInput"

        code = serializers.SlugField(max_length=32)
        title = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        occurred_at = serializers.DateTimeField(validators=[date_in_range])
        detected_at = serializers.DateTimeField(validators=[date_in_range])
        snapshot_base_time = serializers.DateTimeField(validators=[date_in_range])
        claim_opens_at = serializers.DateTimeField(validators=[date_in_range])
        claim_closes_at = serializers.DateTimeField(validators=[date_in_range])
        allows_in_kind = serializers.BooleanField(required=False, default=False)
        assets = AssetInputSerializer(many=True, allow_empty=False)

    def get_permissions(self) -> list:
        if self.request.method == "POST":
            return [HasPerm("claims.manage_incident")()]
        return [IsStaffMember()]

    @extend_schema(responses=IncidentSerializer(many=True))
    def get(self, request: Request) -> Response:
        incidents = selectors.incident_list(status=request.query_params.get("status"))
        page = self.paginate_queryset(incidents)
        return self.get_paginated_response(IncidentSerializer(page, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: IncidentSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        assets = [services.AssetInput(**asset) for asset in fields.pop("assets")]
        incident = services.incident_declare(actor=signed_in_user(request), assets=assets, **fields)
        return Response(IncidentSerializer(selectors.incident_get(code=incident.code)).data, status=201)


class StaffIncidentDetailApi(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(responses={200: IncidentSerializer, 404: ErrorSerializer})
    def get(self, request: Request, code: str) -> Response:
        return Response(IncidentSerializer(selectors.incident_get(code=code)).data)


class StaffIncidentTransitionApi(APIView):
    """Staff: move an incident to its next status (draft → open → closed → settled)."""

    permission_classes = [HasPerm("claims.manage_incident")]

    class InputSerializer(serializers.Serializer):
        """Request body of StaffIncidentTransitionApi."""

        class Meta:
            ref_name = "StaffIncidentTransitionInput"

        to = serializers.ChoiceField(choices=Incident.Status.choices)
        reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)

    @extend_schema(
        request=InputSerializer, responses={200: IncidentSerializer, 404: ErrorSerializer, 422: ErrorSerializer}
    )
    def post(self, request: Request, code: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = selectors.incident_get(code=code)
        services.incident_transition(
            actor=signed_in_user(request),
            incident=incident,
            to_status=data.validated_data["to"],
            reason=data.validated_data["reason"],
        )
        return Response(IncidentSerializer(selectors.incident_get(code=code)).data)


class StaffIncidentAssetAddApi(APIView):
    permission_classes = [HasPerm("claims.manage_incident")]

    @extend_schema(
        request=AssetInputSerializer, responses={201: AssetSerializer, 409: ErrorSerializer, 422: ErrorSerializer}
    )
    def post(self, request: Request, code: str) -> Response:
        data = AssetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = selectors.incident_get(code=code)
        asset = services.incident_asset_add(
            actor=signed_in_user(request), incident=incident, asset=services.AssetInput(**data.validated_data)
        )
        return Response(AssetSerializer(asset).data, status=201)


class StaffAssetPriceApi(APIView):
    """Staff: set an asset's JPY reference price with its source; refused once a claim is approved."""

    permission_classes = [HasPerm("claims.manage_incident")]

    class InputSerializer(serializers.Serializer):
        """Request body of StaffAssetPriceApi."""

        class Meta:
            ref_name = "StaffAssetPriceInput"

        reference_price_jpy = serializers.DecimalField(max_digits=28, decimal_places=8)
        price_source = serializers.CharField(max_length=200)
        price_method = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
        price_window_start = serializers.DateTimeField(
            validators=[date_in_range], required=False, allow_null=True, default=None
        )
        price_window_end = serializers.DateTimeField(
            validators=[date_in_range], required=False, allow_null=True, default=None
        )
        reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)

    @extend_schema(
        request=InputSerializer, responses={200: AssetSerializer, 404: ErrorSerializer, 422: ErrorSerializer}
    )
    def post(self, request: Request, code: str, symbol: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = selectors.incident_get(code=code)
        asset = incident.assets.filter(symbol=symbol).first()
        if asset is None:
            return Response({"error": "not_found", "detail": f"No asset {symbol!r} in {code}."}, status=404)
        asset = services.incident_asset_price_set(actor=signed_in_user(request), asset=asset, **data.validated_data)
        return Response(AssetSerializer(asset).data)


class StaffSnapshotImportApi(APIView):
    """Staff: upload the balance snapshot CSV (multipart field `file`). All or nothing."""

    permission_classes = [HasPerm("claims.manage_incident")]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        """Request body of StaffSnapshotImportApi."""

        class Meta:
            ref_name = "StaffSnapshotImportInput"

        file = serializers.FileField()

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={
            201: SnapshotSerializer,
            200: OpenApiResponse(SnapshotSerializer, description="The same file was imported before; nothing changed."),
            400: OpenApiResponse(ErrorSerializer, description="Rejected; `errors` lists line numbers and reasons."),
            409: ErrorSerializer,
        },
    )
    def post(self, request: Request, code: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        incident = selectors.incident_get(code=code)
        result = services.snapshot_import(
            actor=signed_in_user(request), incident=incident, file=upload.file, file_name=upload.name
        )
        return Response(
            SnapshotSerializer(result.snapshot).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )
