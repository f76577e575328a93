from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from claims.claims_api import TokenObtainApi

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Passkey ceremonies (django-otp-webauthn): customers' second factor for changes of payout details.
    path("webauthn/", include("django_otp_webauthn.urls", namespace="otp_webauthn")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Approvers and admins need their TOTP code here too (claims.claims_api.TokenObtainApi).
    path("api/auth/token/", TokenObtainApi.as_view(), name="api-token"),
    path("api/", include("claims.api_urls")),
    path("api/", include("reserves.api_urls")),
    path("api/", include("audit.api_urls")),
    path("", include("audit.urls")),
    path("", include("reserves.urls")),
    path("", include("claims.urls")),
]

handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
