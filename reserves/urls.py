"""Web pages of the reserves app."""

from django.urls import path, re_path

from reserves import rail_views, regulator_views, views

urlpatterns = [
    path("staff/reserve/", views.reserve_page, name="reserve"),
    path("staff/reserve/fundings/", views.funding_request, name="funding-request"),
    re_path(
        r"^staff/reserve/fundings/(?P<funding_id>\d+)/(?P<decision>approve|reject)/$",
        views.funding_decide,
        name="funding-decide",
    ),
    path("staff/reserve/custody/", views.custody_record, name="custody-record"),
    path("staff/reserve/policies/", views.policy_register, name="policy-register"),
    path("staff/funds/", views.fund_list_page, name="funds"),
    path("staff/funds/<slug:code>/", views.fund_page, name="fund"),
    re_path(
        r"^staff/funds/(?P<code>[-a-zA-Z0-9_]+)/(?P<action>settings|hold|release|allocate)/$",
        views.fund_action,
        name="fund-action",
    ),
    path("staff/recoveries/<int:recovery_id>/", views.recovery_action, name="recovery-action"),
    path("staff/payouts/", views.payout_list_page, name="payouts"),
    path("staff/payouts/retry/", views.payout_retry, name="payouts-retry"),
    path("staff/payouts/<int:payout_id>/receipt/", views.payout_receipt_page, name="payout-receipt"),
    path(
        "staff/payouts/<int:payout_id>/receipt/download/",
        views.payout_receipt_download,
        name="payout-receipt-download",
    ),
    # Payment rails: result imports, returned and unclaimed payouts, the rails' health (reserves/rail_views.py).
    path("staff/rails/", rail_views.rail_health_page, name="rails"),
    path("staff/rails/results/", rail_views.result_import_page, name="result-imports"),
    path("staff/rails/results/<int:import_id>/", rail_views.result_import_detail, name="result-import"),
    path("staff/rails/returned/", rail_views.returned_page, name="payouts-returned"),
    path("staff/rails/unclaimed/", rail_views.unclaimed_page, name="payouts-unclaimed"),
    # The regulator portal (read-only).
    path("regulator/payouts/", regulator_views.payout_history_page, name="regulator-payouts"),
    path("regulator/reserve/", regulator_views.reserve_page, name="regulator-reserve"),
    path("regulator/insurance/", regulator_views.insurance_page, name="regulator-insurance"),
]
