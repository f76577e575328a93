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
    path("audit/public-keys/", api.PublicKeyApi.as_view(), name="api-audit-public-keys"),
    path("verify/receipt/", api.ReceiptVerifyApi.as_view(), name="api-receipt-verify"),
    path("staff/regulators/", api.RegulatorAccountListApi.as_view(), name="api-staff-regulators"),
]
