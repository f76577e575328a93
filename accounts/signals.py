"""A change of a user's roles ends what they signed in with: their API tokens now, their sessions at the next request.

Roles are the user's groups plus the is_staff / is_superuser / is_active flags. The groups change
through `user.groups` or `group.user_set` (m2m_changed), the flags through a save of the user.
Sessions remember the roles they were opened with (`session_roles_remember`, on sign-in);
`RoleChangeLogoutMiddleware` ends a session whose user's roles are no longer those.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser, Group
from django.http import HttpRequest, HttpResponse

from accounts.tokens import tokens_revoke
from core.roles import roles_of
from core.types import User

SESSION_ROLES_KEY = "account_roles"
_FLAGS = ("is_staff", "is_superuser", "is_active")


def roles_fingerprint(user: User | AnonymousUser) -> str:
    if not user.is_authenticated:
        return ""
    return ",".join(sorted(roles_of(user))) + f"|staff={user.is_staff}|super={user.is_superuser}"


def session_roles_remember(sender: Any = None, request: Any = None, user: User | None = None, **kwargs: Any) -> None:
    """Receiver of user_logged_in: the session keeps the roles it was opened with."""
    if request is not None and user is not None and hasattr(request, "session"):
        if hasattr(user, "_role_names"):
            del user._role_names  # the roles as they are now, not as cached earlier in this request
        request.session[SESSION_ROLES_KEY] = roles_fingerprint(user)


def groups_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """Receiver of m2m_changed on User.groups: the users whose groups changed lose their tokens."""
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if isinstance(instance, Group):  # group.user_set.add(...): pk_set holds users
        user_ids = list(pk_set or []) if action != "pre_clear" else list(instance.user_set.values_list("pk", flat=True))
    else:
        if hasattr(instance, "_role_names"):
            del instance._role_names
        user_ids = [instance.pk]
    if user_ids and (action == "pre_clear" or pk_set):
        tokens_revoke(user_ids=user_ids)


def flags_remember(sender: Any, instance: User, update_fields: Any = None, **kwargs: Any) -> None:
    """Receiver of pre_save on User: note whether is_staff / is_superuser / is_active change."""
    instance._flags_changed = False  # type: ignore[attr-defined]
    if instance.pk is None or (update_fields is not None and not set(update_fields) & set(_FLAGS)):
        return
    old = type(instance).objects.filter(pk=instance.pk).values(*_FLAGS).first()
    instance._flags_changed = old is not None and any(old[f] != getattr(instance, f) for f in _FLAGS)  # type: ignore[attr-defined]


def flags_changed(sender: Any, instance: User, created: bool = False, **kwargs: Any) -> None:
    """Receiver of post_save on User: a changed flag revokes the user's tokens."""
    if getattr(instance, "_flags_changed", False):
        tokens_revoke(user_ids=[instance.pk])


class RoleChangeLogoutMiddleware:
    """End a session whose user's roles changed since it was opened (after AuthenticationMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if isinstance(user, User) and request.session.get(SESSION_ROLES_KEY) != roles_fingerprint(user):
            logout(request)
        return self.get_response(request)
