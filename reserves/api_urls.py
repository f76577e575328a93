"""API paths of the reserves app, mounted under /api/."""

from django.urls import path, re_path

from reserves import api, rail_api, regulator_api

urlpatterns = [
    path("staff/reserve/", api.ReservePositionApi.as_view(), name="api-reserve"),
    path("staff/reserve/fundings/", api.FundingListApi.as_view(), name="api-fundings"),
    re_path(
        r"^staff/reserve/fundings/(?P<funding_id>\d+)/(?P<decision>approve|reject)/$",
        api.FundingDecisionApi.as_view(),
        name="api-funding-decision",
    ),
    path("staff/policies/", api.PolicyListApi.as_view(), name="api-policies"),
    path("staff/funds/<slug:code>/", api.FundDetailApi.as_view(), name="api-fund"),
    path("staff/funds/<slug:code>/allocate/", api.FundAllocateApi.as_view(), name="api-fund-allocate"),
    path("staff/payouts/", api.PayoutListApi.as_view(), name="api-payouts"),
    path("staff/payouts/retry/", api.PayoutRetryApi.as_view(), name="api-payouts-retry"),
    path("staff/rails/results/", rail_api.ResultImportListApi.as_view(), name="api-result-imports"),
    re_path(
        r"^staff/recoveries/(?P<recovery_id>\d+)/(?P<action>notice|proof|settle|deny)/$",
        api.RecoveryActionApi.as_view(),
        name="api-recovery-action",
    ),
    # The regulator portal (read-only; README "Regulator portal: payouts, reserve, insurance").
    path("regulator/payouts/", regulator_api.RegulatorPayoutListApi.as_view(), name="api-regulator-payouts"),
    path("regulator/reserve/", regulator_api.RegulatorReserveApi.as_view(), name="api-regulator-reserve"),
    path("regulator/insurance/", regulator_api.RegulatorInsuranceApi.as_view(), name="api-regulator-insurance"),
]
