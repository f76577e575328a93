"""API paths of the claims app, mounted under /api/ inside the `claims` URL namespace (claims/urls.py)."""

from django.urls import path

from claims.api import customer, regulator, staff_incidents, staff_review

urlpatterns = [
    path("incidents/", customer.CustomerIncidentListApi.as_view(), name="api-incidents"),
    path("incidents/<slug:code>/holdings/", customer.CustomerHoldingsApi.as_view(), name="api-incident-holdings"),
    path("staff/incidents/", staff_incidents.StaffIncidentListApi.as_view(), name="api-staff-incidents"),
    path("staff/incidents/<slug:code>/", staff_incidents.StaffIncidentDetailApi.as_view(), name="api-staff-incident"),
    path(
        "staff/incidents/<slug:code>/transition/",
        staff_incidents.StaffIncidentTransitionApi.as_view(),
        name="api-staff-incident-transition",
    ),
    path(
        "staff/incidents/<slug:code>/assets/",
        staff_incidents.StaffIncidentAssetAddApi.as_view(),
        name="api-staff-asset-add",
    ),
    path(
        "staff/incidents/<slug:code>/assets/<str:symbol>/price/",
        staff_incidents.StaffAssetPriceApi.as_view(),
        name="api-staff-asset-price",
    ),
    path(
        "staff/incidents/<slug:code>/snapshot/",
        staff_incidents.StaffSnapshotImportApi.as_view(),
        name="api-staff-snapshot",
    ),
    path("claims/", customer.ClaimListApi.as_view(), name="api-claims"),
    path("claims/<str:ref>/", customer.ClaimDetailApi.as_view(), name="api-claim"),
    path("claims/<str:ref>/appeal/", customer.ClaimAppealApi.as_view(), name="api-claim-appeal"),
    path("claims/<str:ref>/payout/", customer.ClaimPayoutApi.as_view(), name="api-claim-payout"),
    path(
        "claims/<str:ref>/payout-correction/",
        customer.ClaimPayoutCorrectionApi.as_view(),
        name="api-claim-payout-correction",
    ),
    path("claims/<str:ref>/respond/", customer.ClaimRespondApi.as_view(), name="api-claim-respond"),
    path("claims/<str:ref>/evidence/", customer.ClaimEvidenceApi.as_view(), name="api-claim-evidence"),
    path(
        "claims/<str:ref>/evidence/<int:evidence_id>/",
        customer.EvidenceDownloadApi.as_view(),
        name="api-claim-evidence-file",
    ),
    path("claims/<str:ref>/receipt/", customer.ClaimLatestReceiptApi.as_view(), name="api-claim-latest-receipt"),
    path("claims/<str:ref>/receipts/", customer.ClaimReceiptListApi.as_view(), name="api-claim-receipts"),
    path(
        "claims/<str:ref>/liabilities-proof/",
        customer.ClaimLiabilitiesProofApi.as_view(),
        name="api-claim-liabilities-proof",
    ),
    path("claims/<str:ref>/receipts/<str:receipt_id>/", customer.ClaimReceiptApi.as_view(), name="api-claim-receipt"),
    path("staff/claims/", staff_review.StaffClaimListApi.as_view(), name="api-staff-claims"),
    path("staff/claims/batches/", staff_review.StaffClaimBatchApi.as_view(), name="api-staff-claim-batches"),
    path("staff/claims/bulk-approve/", staff_review.StaffBulkApproveApi.as_view(), name="api-staff-bulk-approve"),
    path("staff/claims/<str:ref>/", staff_review.StaffClaimDetailApi.as_view(), name="api-staff-claim"),
    path(
        "staff/claims/<str:ref>/decision/",
        staff_review.StaffClaimDecisionApi.as_view(),
        name="api-staff-claim-decision",
    ),
    path("regulator/incidents/", regulator.RegulatorIncidentListApi.as_view(), name="api-regulator-incidents"),
    path(
        "regulator/incidents/<slug:code>/claims/",
        regulator.RegulatorIncidentClaimsApi.as_view(),
        name="api-regulator-incident-claims",
    ),
    path(
        "regulator/incidents/<slug:code>/summary/",
        regulator.RegulatorIncidentSummaryApi.as_view(),
        name="api-regulator-incident-summary",
    ),
    path(
        "regulator/incidents/<slug:code>/liabilities/",
        regulator.RegulatorIncidentLiabilitiesApi.as_view(),
        name="api-regulator-incident-liabilities",
    ),
]
