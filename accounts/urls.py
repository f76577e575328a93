"""Pages and API of the accounts app (mounted at the site root: the token API keeps its /api/ path)."""

from django.urls import path

from accounts import api, staff_views, views

app_name = "accounts"

urlpatterns = [
    path("account/two-factor/", views.two_factor, name="two-factor"),
    path("account/security/", views.account_security, name="account-security"),
    # Admins: the people behind staff logins.
    path("staff/members/", staff_views.staff_member_list, name="staff-members"),
    path("staff/members/<int:member_id>/", staff_views.staff_member_detail, name="staff-member"),
    # Approvers and admins need their TOTP code here too.
    path("api/auth/token/", api.TokenObtainApi.as_view(), name="api-token"),
]
