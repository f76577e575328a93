"""Sign-in by username with the case of an e-mail address ignored (customers sign in with their address).

Customers' usernames are their e-mail addresses in lower case (claims.services.activation); staff
usernames are compared without case too. Two logins that differ only in case (none are made) would
both be refused rather than one guessed.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


def username_key(username: str | None) -> str:
    """How a username is compared (and throttled): trimmed, case-folded."""
    return (username or "").strip().lower()


class CaseInsensitiveModelBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        users = get_user_model()
        if username is None:
            username = kwargs.get(users.USERNAME_FIELD)
        if username is None or password is None:
            return None
        matches = list(users._default_manager.filter(username__iexact=username.strip())[:2])
        if len(matches) != 1:
            users().set_password(password)  # the same work as a wrong password (ModelBackend does this too)
            return None
        user = matches[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """django-axes' AXES_USERNAME_CALLABLE: failures count per address whatever its case."""
    return username_key((credentials or {}).get("username"))
