from django.urls import path

from claims import api, claims_api, regulator_api

urlpatterns = [
    path("incidents/", api.CustomerIncidentListApi.as_view(), name="api-incidents"),
    path("incidents/<slug:code>/holdings/", api.CustomerHoldingsApi.as_view(), name="api-incident-holdings"),
    path("staff/incidents/", api.StaffIncidentListApi.as_view(), name="api-staff-incidents"),
    path("staff/incidents/<slug:code>/", api.StaffIncidentDetailApi.as_view(), name="api-staff-incident"),
    path(
        "staff/incidents/<slug:code>/transition/",
        api.StaffIncidentTransitionApi.as_view(),
        name="api-staff-incident-transition",
    ),
    path("staff/incidents/<slug:code>/assets/", api.StaffIncidentAssetAddApi.as_view(), name="api-staff-asset-add"),
    path(
        "staff/incidents/<slug:code>/assets/<str:symbol>/price/",
        api.StaffAssetPriceApi.as_view(),
        name="api-staff-asset-price",
    ),
    path("staff/incidents/<slug:code>/snapshot/", api.StaffSnapshotImportApi.as_view(), name="api-staff-snapshot"),
    path("claims/", claims_api.ClaimListApi.as_view(), name="api-claims"),
    path("claims/<str:ref>/", claims_api.ClaimDetailApi.as_view(), name="api-claim"),
    path("claims/<str:ref>/appeal/", claims_api.ClaimAppealApi.as_view(), name="api-claim-appeal"),
    path("claims/<str:ref>/payout/", claims_api.ClaimPayoutApi.as_view(), name="api-claim-payout"),
    path(
        "claims/<str:ref>/payout-correction/",
        claims_api.ClaimPayoutCorrectionApi.as_view(),
        name="api-claim-payout-correction",
    ),
    path("claims/<str:ref>/respond/", claims_api.ClaimRespondApi.as_view(), name="api-claim-respond"),
    path("claims/<str:ref>/evidence/", claims_api.ClaimEvidenceApi.as_view(), name="api-claim-evidence"),
    path(
        "claims/<str:ref>/evidence/<int:evidence_id>/",
        claims_api.EvidenceDownloadApi.as_view(),
        name="api-claim-evidence-file",
    ),
    path("claims/<str:ref>/receipt/", claims_api.ClaimLatestReceiptApi.as_view(), name="api-claim-latest-receipt"),
    path("claims/<str:ref>/receipts/", claims_api.ClaimReceiptListApi.as_view(), name="api-claim-receipts"),
    path(
        "claims/<str:ref>/liabilities-proof/",
        claims_api.ClaimLiabilitiesProofApi.as_view(),
        name="api-claim-liabilities-proof",
    ),
    path("claims/<str:ref>/receipts/<str:receipt_id>/", claims_api.ClaimReceiptApi.as_view(), name="api-claim-receipt"),
    path("staff/claims/", claims_api.StaffClaimListApi.as_view(), name="api-staff-claims"),
    path("staff/claims/batches/", claims_api.StaffClaimBatchApi.as_view(), name="api-staff-claim-batches"),
    path("staff/claims/bulk-approve/", claims_api.StaffBulkApproveApi.as_view(), name="api-staff-bulk-approve"),
    path("staff/claims/<str:ref>/", claims_api.StaffClaimDetailApi.as_view(), name="api-staff-claim"),
    path(
        "staff/claims/<str:ref>/decision/", claims_api.StaffClaimDecisionApi.as_view(), name="api-staff-claim-decision"
    ),
    path("regulator/incidents/", regulator_api.RegulatorIncidentListApi.as_view(), name="api-regulator-incidents"),
    path(
        "regulator/incidents/<slug:code>/claims/",
        regulator_api.RegulatorIncidentClaimsApi.as_view(),
        name="api-regulator-incident-claims",
    ),
    path(
        "regulator/incidents/<slug:code>/summary/",
        regulator_api.RegulatorIncidentSummaryApi.as_view(),
        name="api-regulator-incident-summary",
    ),
    path(
        "regulator/incidents/<slug:code>/liabilities/",
        regulator_api.RegulatorIncidentLiabilitiesApi.as_view(),
        name="api-regulator-incident-liabilities",
    ),
]
