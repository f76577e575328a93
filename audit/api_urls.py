"""API paths of the audit app, mounted under /api/ inside the `audit` URL namespace (audit/urls.py)."""

from django.urls import path

from audit import api

urlpatterns = [
    path("regulator/audit/", api.RegulatorAuditEventListApi.as_view(), name="api-regulator-audit"),
    path("regulator/audit/verify/", api.RegulatorAuditVerifyApi.as_view(), name="api-regulator-audit-verify"),
    path("regulator/audit/checkpoints/", api.RegulatorCheckpointListApi.as_view(), name="api-regulator-checkpoints"),
    path(
        "regulator/audit/checkpoints/<int:checkpoint_id>/",
        api.RegulatorCheckpointDetailApi.as_view(),
        name="api-regulator-checkpoint",
    ),
    path("regulator/audit/log/inclusion/", api.RegulatorInclusionApi.as_view(), name="api-regulator-log-inclusion"),
    path(
        "regulator/audit/log/consistency/",
        api.RegulatorConsistencyApi.as_view(),
        name="api-regulator-log-consistency",
    ),
    path("regulator/audit/witnesses/", api.RegulatorWitnessListApi.as_view(), name="api-regulator-witnesses"),
    path("audit/public-keys/", api.PublicKeyApi.as_view(), name="api-audit-public-keys"),
    path("audit/log/checkpoint", api.LogCheckpointApi.as_view(), name="api-log-checkpoint"),
    path("audit/log/checkpoints/<int:size>", api.LogCheckpointBySizeApi.as_view(), name="api-log-checkpoint-size"),
    path("audit/log/consistency/", api.LogConsistencyApi.as_view(), name="api-log-consistency"),
    path("audit/log/cosignatures/", api.CosignatureApi.as_view(), name="api-log-cosignatures"),
    path("audit/receipts/<uuid:receipt_id>/proof/", api.ReceiptProofApi.as_view(), name="api-receipt-proof"),
    path("verify/receipt/", api.ReceiptVerifyApi.as_view(), name="api-receipt-verify"),
    path("staff/regulators/", api.RegulatorAccountListApi.as_view(), name="api-staff-regulators"),
]
