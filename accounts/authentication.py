"""The API's token authentication (settings.REST_FRAMEWORK): DRF's, plus the staff rules of accounts.tokens.

Imports lazily: DRF loads this class while its own modules are being imported.
"""

from typing import Any

from rest_framework.authentication import TokenAuthentication


class StaffTokenAuthentication(TokenAuthentication):
    """A staff token expires (401) and must be bound to a second factor (403 `second_factor_required`)."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        from accounts.tokens import token_user_check

        user, token = super().authenticate_credentials(key)
        token_user_check(user, token)
        return user, token
