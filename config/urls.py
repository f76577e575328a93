"""The site's URLs: each app's own (in its namespace), Django's sign-in pages, the admin, the API schema."""

from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from accounts.throttle import ThrottledPasswordResetView
from claims.forms import CustomerPasswordResetForm

urlpatterns = [
    path("admin/", admin.site.urls),
    # Django's sign-in pages, under the names django.contrib.auth expects (no namespace). The reset form
    # also sends a fresh activation link to a customer who never activated their login.
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        ThrottledPasswordResetView.as_view(form_class=CustomerPasswordResetForm),
        name="password_reset",
    ),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Passkey ceremonies (django-otp-webauthn): customers' second factor for changes of payout details.
    path("webauthn/", include("django_otp_webauthn.urls", namespace="otp_webauthn")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI and ReDoc from the app's static files; Swagger's start-up script is a URL of its own (no inline JS).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # ReDoc styles itself with <style> elements it writes at run time and renders in a blob: worker: the one page
    # whose policy allows inline styles (never inline scripts).
    path(
        "api/redoc/",
        csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]})(
            SpectacularRedocView.as_view(url_name="api-schema")
        ),
        name="api-redoc",
    ),
    # Each app's pages and API (its api/ paths included by its urls module), in the app's namespace.
    path("", include("operations.urls")),
    path("", include("accounts.urls")),
    path("", include("audit.urls")),
    path("", include("reserves.urls")),
    path("", include("claims.urls")),
]

handler400 = "core.http.bad_request"
handler403 = "core.http.permission_denied"
handler404 = "core.http.page_not_found"
handler500 = "core.http.server_error"
