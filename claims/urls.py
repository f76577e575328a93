from django.contrib.auth import views as auth_views
from django.urls import path

from claims import claim_views, correction_views, regulator_views, security_views, views
from claims.claim_forms import CustomerPasswordResetForm

urlpatterns = [
    path("", views.home, name="home"),
    path("staff/incidents/", views.staff_incident_list, name="staff-incident-list"),
    path("staff/incidents/new/", views.staff_incident_create, name="staff-incident-create"),
    path("staff/incidents/<slug:code>/", views.staff_incident_detail, name="staff-incident-detail"),
    path("staff/incidents/<slug:code>/transition/", views.staff_incident_transition, name="staff-incident-transition"),
    path("staff/incidents/<slug:code>/snapshot/", views.staff_snapshot_upload, name="staff-snapshot-upload"),
    path("staff/incidents/<slug:code>/assets/<str:symbol>/price/", views.staff_asset_price, name="staff-asset-price"),
    path("regulator/incidents/", regulator_views.regulator_incident_list, name="regulator-incidents"),
    path("regulator/incidents/<slug:code>/", regulator_views.regulator_incident_detail, name="regulator-incident"),
    path(
        "regulator/incidents/<slug:code>/claims/",
        regulator_views.regulator_incident_claims,
        name="regulator-incident-claims",
    ),
    path("claims/", claim_views.customer_home, name="customer-home"),
    path("claims/incidents/<slug:code>/", claim_views.customer_incident, name="customer-incident"),
    path("claims/<str:ref>/", claim_views.claim_detail, name="claim-detail"),
    path("claims/<str:ref>/payout/", claim_views.claim_payout_change, name="claim-payout"),
    path("claims/<str:ref>/payout-correction/", claim_views.claim_payout_correction, name="claim-payout-correction"),
    path("staff/payout-corrections/", correction_views.correction_list, name="payout-corrections"),
    path(
        "staff/payout-corrections/<int:correction_id>/review/",
        correction_views.correction_review,
        name="payout-correction-review",
    ),
    path("staff/claims/<str:ref>/payout-name/", correction_views.payout_name_accept, name="staff-payout-name-accept"),
    path("staff/incidents/<slug:code>/election/", correction_views.incident_election, name="staff-incident-election"),
    path("claims/<str:ref>/evidence/", claim_views.claim_evidence_upload, name="claim-evidence"),
    path("claims/<str:ref>/evidence/<int:evidence_id>/", claim_views.evidence_download, name="claim-evidence-file"),
    path("claims/<str:ref>/receipts/<uuid:receipt_id>/", claim_views.receipt_page, name="claim-receipt"),
    path(
        "claims/<str:ref>/liabilities-proof.json",
        claim_views.liabilities_proof_download,
        name="claim-liabilities-proof",
    ),
    path(
        "claims/<str:ref>/receipts/<uuid:receipt_id>/download/",
        claim_views.receipt_download,
        name="claim-receipt-download",
    ),
    path("claims/<str:ref>/respond/", claim_views.claim_respond, name="claim-respond"),
    path("claims/<str:ref>/appeal/", claim_views.claim_appeal, name="claim-appeal"),
    path("activate/<str:token>/", claim_views.activate, name="activate"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(form_class=CustomerPasswordResetForm),
        name="password_reset",
    ),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("account/two-factor/", claim_views.two_factor, name="two-factor"),
    path("account/security/", security_views.account_security, name="account-security"),
    path("staff/claims/", claim_views.staff_claim_list, name="staff-claim-list"),
    path("staff/claims/batches/", claim_views.staff_batches, name="staff-batches"),
    path("staff/claims/batches/<int:batch_id>/approve/", claim_views.staff_batch_approve, name="staff-batch-approve"),
    path("staff/claims/<str:ref>/", claim_views.staff_claim_detail, name="staff-claim-detail"),
]
