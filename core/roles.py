"""The five roles, their Django groups and permissions, and DRF permission classes.

A role is a Django group of the same name. `roles_sync` (run after every
migrate and flush) creates the groups and gives each its permissions, so the
database always matches ROLE_PERMISSIONS.
"""

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any

from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext_lazy
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class Role(StrEnum):
    CUSTOMER = "customer"
    REVIEWER = "reviewer"
    APPROVER = "approver"
    REGULATOR = "regulator"
    ADMIN = "admin"


ViewFunction = Callable[..., HttpResponseBase]

STAFF_ROLES = frozenset({Role.REVIEWER, Role.APPROVER, Role.ADMIN})
# The role an audit event names when a user has several: the most powerful one.
ROLE_PRECEDENCE = (Role.ADMIN, Role.APPROVER, Role.REVIEWER, Role.REGULATOR, Role.CUSTOMER)

# "app_label.codename" per role. Apps declare the permissions in their models' Meta.
ROLE_PERMISSIONS: dict[Role, set[str]] = {
    Role.CUSTOMER: set(),
    Role.REVIEWER: {
        "claims.view_incident",
        "claims.view_snapshot",
        "claims.view_claim",
        "claims.review_claim",
        "reserves.view_money",
    },
    Role.APPROVER: {
        "claims.view_incident",
        "claims.view_snapshot",
        "claims.manage_incident",
        "claims.view_claim",
        "claims.review_claim",
        "claims.approve_claim",
        "reserves.view_money",
        "reserves.fund_reserve",
        "reserves.approve_funding",
        "reserves.manage_policy",
        "reserves.manage_payouts",
    },
    # The regulator portal checks the role (IsRegulator, regulator_required); no staff permission, so
    # every staff page and API answers 403 to a regulator.
    Role.REGULATOR: {
        "audit.view_trail",
        "audit.view_checkpoint",
        "audit.view_signingkey",
        "audit.view_verificationrun",
    },
    Role.ADMIN: {
        "claims.view_incident",
        "claims.view_snapshot",
        "claims.manage_incident",
        "claims.view_claim",
        "claims.review_claim",
        "claims.approve_claim",
        "audit.view_trail",
        "audit.view_checkpoint",
        "audit.view_signingkey",
        "audit.view_verificationrun",
        "audit.view_receipt",
        "reserves.view_money",
        "reserves.fund_reserve",
        "reserves.approve_funding",
        "reserves.manage_policy",
        "reserves.manage_payouts",
    },
}


def signed_in_user(request: HttpRequest) -> User:
    """The request's user, whom the view's permission check has already required to be signed in (403 otherwise)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def roles_sync(**kwargs: object) -> None:
    """Create the role groups and set their permissions exactly (post_migrate handler)."""
    for role, perm_names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        perms = []
        for name in sorted(perm_names):
            app_label, codename = name.split(".")
            perms.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(perms)


def roles_of(user: User | AnonymousUser | None) -> frozenset[str]:
    """The role names of a user (cached on the user object for the request)."""
    if user is None or not user.is_authenticated:
        return frozenset()
    cached: frozenset[str] | None = getattr(user, "_role_names", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True)) & {r.value for r in Role}
        setattr(user, "_role_names", cached)  # noqa: B010 - a per-request cache on the user object
    return cached


def role_of(user: User | AnonymousUser | None) -> str:
    """The one role an audit event records for this user ("" when none)."""
    names = roles_of(user)
    return next((role.value for role in ROLE_PRECEDENCE if role in names), "")


def has_role(user: User | AnonymousUser | None, *roles: Role) -> bool:
    return bool(roles_of(user) & {role.value for role in roles})


def is_staff_member(user: User | AnonymousUser | None) -> bool:
    return has_role(user, *STAFF_ROLES)


ROLE_LABELS = {
    Role.CUSTOMER: gettext_lazy("customer"),
    Role.REVIEWER: gettext_lazy("reviewer"),
    Role.APPROVER: gettext_lazy("approver"),
    Role.REGULATOR: gettext_lazy("regulator"),
    Role.ADMIN: gettext_lazy("admin"),
}


def role_context(request: HttpRequest) -> dict[str, Any]:
    """Template context: the user's roles (in words of the page's language, most powerful first), for navigation."""
    names = roles_of(getattr(request, "user", None))
    return {
        "user_roles": [ROLE_LABELS[role] for role in ROLE_PRECEDENCE if role in names],
        "is_staff_member": bool(names & STAFF_ROLES),
        "is_customer": Role.CUSTOMER in names,
        "is_regulator": Role.REGULATOR in names,
        "is_approver": Role.APPROVER in names,
        "is_admin_role": Role.ADMIN in names,
    }


class _HasRole(BasePermission):
    roles: tuple[Role, ...] = ()
    message = "Your role may not do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return has_role(request.user, *self.roles)


class IsCustomer(_HasRole):
    roles = (Role.CUSTOMER,)


class IsStaffMember(_HasRole):
    roles = tuple(STAFF_ROLES)


class IsAdmin(_HasRole):
    roles = (Role.ADMIN,)


class IsRegulator(_HasRole):
    """Regulators read; any write is refused (403)."""

    roles = (Role.REGULATOR, Role.ADMIN)

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.method in SAFE_METHODS and super().has_permission(request, view)


def HasPerm(perm: str) -> type[BasePermission]:  # noqa: N802 - reads as a class in permission_classes
    """A permission class requiring one Django permission, e.g. HasPerm("claims.manage_incident")."""

    class _HasPerm(BasePermission):
        message = "Your role may not do this."

        def has_permission(self, request: Request, view: APIView) -> bool:
            return bool(request.user and request.user.is_authenticated and request.user.has_perm(perm))

    _HasPerm.__name__ = f"HasPerm[{perm}]"
    return _HasPerm


def role_required(*roles: Role) -> Callable[[ViewFunction], ViewFunction]:
    """View decorator: anonymous users go to the login page, other roles get 403."""

    def decorator(view: ViewFunction) -> ViewFunction:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


staff_required = role_required(*STAFF_ROLES)
