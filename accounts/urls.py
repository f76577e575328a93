"""Pages and API of the accounts app (mounted at the site root: the token API keeps its /api/ path)."""

from django.urls import path

from accounts import api, views

app_name = "accounts"

urlpatterns = [
    path("account/two-factor/", views.two_factor, name="two-factor"),
    path("account/security/", views.account_security, name="account-security"),
    # Approvers and admins need their TOTP code here too.
    path("api/auth/token/", api.TokenObtainApi.as_view(), name="api-token"),
]
