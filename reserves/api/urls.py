"""API paths of the reserves app, mounted under /api/ inside the `reserves` URL namespace (reserves/urls.py)."""

from django.urls import path, re_path

from reserves.api import rails, regulator, staff_funds, staff_reserve

urlpatterns = [
    path("staff/reserve/", staff_reserve.ReservePositionApi.as_view(), name="api-reserve"),
    path("staff/reserve/fundings/", staff_reserve.FundingListApi.as_view(), name="api-fundings"),
    re_path(
        r"^staff/reserve/fundings/(?P<funding_id>\d+)/(?P<decision>approve|reject)/$",
        staff_reserve.FundingDecisionApi.as_view(),
        name="api-funding-decision",
    ),
    path("staff/policies/", staff_reserve.PolicyListApi.as_view(), name="api-policies"),
    path("staff/funds/<slug:code>/", staff_funds.FundDetailApi.as_view(), name="api-fund"),
    path("staff/funds/<slug:code>/settings/", staff_funds.FundSettingsApi.as_view(), name="api-fund-settings"),
    path("staff/funds/<slug:code>/allocate/", staff_funds.FundAllocateApi.as_view(), name="api-fund-allocate"),
    path("staff/payouts/", staff_funds.PayoutListApi.as_view(), name="api-payouts"),
    path("staff/payouts/retry/", staff_funds.PayoutRetryApi.as_view(), name="api-payouts-retry"),
    path("staff/rails/results/", rails.ResultImportListApi.as_view(), name="api-result-imports"),
    re_path(
        r"^staff/recoveries/(?P<recovery_id>\d+)/(?P<action>notice|proof|settle|deny)/$",
        staff_funds.RecoveryActionApi.as_view(),
        name="api-recovery-action",
    ),
    # The regulator portal (read-only; docs/regulator.md).
    path("regulator/payouts/", regulator.RegulatorPayoutListApi.as_view(), name="api-regulator-payouts"),
    path("regulator/reserve/", regulator.RegulatorReserveApi.as_view(), name="api-regulator-reserve"),
    path("regulator/insurance/", regulator.RegulatorInsuranceApi.as_view(), name="api-regulator-insurance"),
]
