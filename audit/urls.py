"""Web pages of the audit app, and its API under /api/ (audit/api_urls.py), in the `audit` URL namespace."""

from django.urls import include, path, re_path

from audit import views

app_name = "audit"

urlpatterns = [
    path("api/", include("audit.api_urls")),
    path("regulator/", views.regulator_home, name="regulator-home"),
    path("regulator/audit/", views.audit_browser, name="regulator-audit"),
    path("regulator/audit/checkpoints/", views.checkpoint_list, name="regulator-checkpoints"),
    path(
        "regulator/audit/checkpoints/<int:checkpoint_id>.txt",
        views.checkpoint_download,
        name="regulator-checkpoint-download",
    ),
    path("regulator/reports/", views.quarterly_reports, name="regulator-reports"),
    re_path(
        r"^regulator/reports/(?P<quarter>\d{4}Q[1-4])\.(?P<extension>pdf|csv)$",
        views.quarterly_report_download,
        name="regulator-report-download",
    ),
    path("audit/public-key.pem", views.public_key, name="audit-public-key"),
    path("audit/keys/<str:key_id>.pem", views.public_key, name="audit-key"),
    path("verify/", views.receipt_verify_page, name="receipt-verify"),
    path("staff/regulators/", views.regulator_accounts, name="regulator-accounts"),
]
