"""Pages of the claims app, and its API under /api/ (claims/api/urls.py), in the `claims` URL namespace."""

from django.urls import include, path

from claims.views import customer, home, regulator, staff_incidents, staff_payout_details, staff_review

app_name = "claims"

urlpatterns = [
    path("", home.home, name="home"),
    path("api/", include("claims.api.urls")),
    # Customers
    path("claims/", customer.customer_home, name="customer-home"),
    path("claims/incidents/<slug:code>/", customer.customer_incident, name="customer-incident"),
    path("claims/<str:ref>/", customer.claim_detail, name="claim-detail"),
    path("claims/<str:ref>/payout/", customer.claim_payout_change, name="claim-payout"),
    path("claims/<str:ref>/payout-correction/", customer.claim_payout_correction, name="claim-payout-correction"),
    path("claims/<str:ref>/evidence/", customer.claim_evidence_upload, name="claim-evidence"),
    path("claims/<str:ref>/evidence/<int:evidence_id>/", customer.evidence_download, name="claim-evidence-file"),
    path("claims/<str:ref>/receipts/<uuid:receipt_id>/", customer.receipt_page, name="claim-receipt"),
    path("claims/<str:ref>/receipts/<uuid:receipt_id>/pdf/", customer.receipt_pdf, name="claim-receipt-pdf"),
    path(
        "claims/<str:ref>/liabilities-proof.json",
        customer.liabilities_proof_download,
        name="claim-liabilities-proof",
    ),
    path(
        "claims/<str:ref>/receipts/<uuid:receipt_id>/download/",
        customer.receipt_download,
        name="claim-receipt-download",
    ),
    path("claims/<str:ref>/respond/", customer.claim_respond, name="claim-respond"),
    path("claims/<str:ref>/appeal/", customer.claim_appeal, name="claim-appeal"),
    path("activate/<str:token>/", customer.activate, name="activate"),
    # Staff: incidents
    path("staff/incidents/", staff_incidents.staff_incident_list, name="staff-incident-list"),
    path("staff/incidents/new/", staff_incidents.staff_incident_create, name="staff-incident-create"),
    path("staff/incidents/<slug:code>/", staff_incidents.staff_incident_detail, name="staff-incident-detail"),
    path(
        "staff/incidents/<slug:code>/transition/",
        staff_incidents.staff_incident_transition,
        name="staff-incident-transition",
    ),
    path("staff/incidents/<slug:code>/snapshot/", staff_incidents.staff_snapshot_upload, name="staff-snapshot-upload"),
    path(
        "staff/incidents/<slug:code>/assets/<str:symbol>/price/",
        staff_incidents.staff_asset_price,
        name="staff-asset-price",
    ),
    # Staff: review
    path("staff/claims/", staff_review.staff_claim_list, name="staff-claim-list"),
    path("staff/claims/batches/", staff_review.staff_batches, name="staff-batches"),
    path("staff/claims/batches/<int:batch_id>/approve/", staff_review.staff_batch_approve, name="staff-batch-approve"),
    path("staff/claims/<str:ref>/", staff_review.staff_claim_detail, name="staff-claim-detail"),
    # Staff: payout details (corrections after a return, holder names, elections)
    path("staff/payout-corrections/", staff_payout_details.correction_list, name="payout-corrections"),
    path(
        "staff/payout-corrections/<int:correction_id>/review/",
        staff_payout_details.correction_review,
        name="payout-correction-review",
    ),
    path(
        "staff/claims/<str:ref>/payout-name/", staff_payout_details.payout_name_accept, name="staff-payout-name-accept"
    ),
    path(
        "staff/incidents/<slug:code>/election/",
        staff_payout_details.incident_election,
        name="staff-incident-election",
    ),
    # Regulators (read-only)
    path("regulator/incidents/", regulator.regulator_incident_list, name="regulator-incidents"),
    path("regulator/incidents/<slug:code>/", regulator.regulator_incident_detail, name="regulator-incident"),
    path(
        "regulator/incidents/<slug:code>/claims/",
        regulator.regulator_incident_claims,
        name="regulator-incident-claims",
    ),
]
