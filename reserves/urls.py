"""Web pages of the reserves app, and its API under /api/ (reserves/api/urls.py), in the `reserves` URL namespace."""

from django.urls import include, path, re_path

from reserves.views import rails, regulator, staff

app_name = "reserves"

urlpatterns = [
    path("api/", include("reserves.api.urls")),
    path("staff/reserve/", staff.reserve_page, name="reserve"),
    path("staff/reserve/fundings/", staff.funding_request, name="funding-request"),
    re_path(
        r"^staff/reserve/fundings/(?P<funding_id>\d+)/(?P<decision>approve|reject)/$",
        staff.funding_decide,
        name="funding-decide",
    ),
    path("staff/reserve/custody/", staff.custody_record, name="custody-record"),
    path("staff/reserve/policies/", staff.policy_register, name="policy-register"),
    path("staff/funds/", staff.fund_list_page, name="funds"),
    path("staff/funds/<slug:code>/", staff.fund_page, name="fund"),
    re_path(
        r"^staff/funds/(?P<code>[-a-zA-Z0-9_]+)/(?P<action>settings|hold|release|allocate)/$",
        staff.fund_action,
        name="fund-action",
    ),
    path("staff/recoveries/<int:recovery_id>/", staff.recovery_action, name="recovery-action"),
    path("staff/payouts/", staff.payout_list_page, name="payouts"),
    path("staff/payouts/retry/", staff.payout_retry, name="payouts-retry"),
    path("staff/payouts/<int:payout_id>/receipt/", staff.payout_receipt_page, name="payout-receipt"),
    path("staff/payouts/<int:payout_id>/receipt/pdf/", staff.payout_receipt_pdf, name="payout-receipt-pdf"),
    path(
        "staff/payouts/<int:payout_id>/receipt/download/",
        staff.payout_receipt_download,
        name="payout-receipt-download",
    ),
    # Payment rails: result imports, returned and unclaimed payouts, the rails' health (reserves/rails.py).
    path("staff/rails/", rails.rail_health_page, name="rails"),
    path("staff/rails/results/", rails.result_import_page, name="result-imports"),
    path("staff/rails/results/<int:import_id>/", rails.result_import_detail, name="result-import"),
    path("staff/rails/returned/", rails.returned_page, name="payouts-returned"),
    path("staff/rails/unclaimed/", rails.unclaimed_page, name="payouts-unclaimed"),
    # The regulator portal (read-only).
    path("regulator/payouts/", regulator.payout_history_page, name="regulator-payouts"),
    path("regulator/reserve/", regulator.reserve_page, name="regulator-reserve"),
    path("regulator/insurance/", regulator.insurance_page, name="regulator-insurance"),
]
