"""What accounts writes to the audit trail: staff sign-ins and second-factor steps."""

from typing import Any

from django.db import transaction

from audit.services import event_record
from core.roles import is_staff_member
from core.types import User


def staff_login_record(sender: Any = None, request: Any = None, user: User | None = None, **kwargs: Any) -> None:
    """Receiver of Django's user_logged_in: a staff member's sign-in is part of the trail."""
    if user is not None and is_staff_member(user):
        with transaction.atomic():
            event_record(actor=user, action="staff.logged_in", subject=("auth.user", user.pk), data={})


@transaction.atomic(durable=True)
def second_factor_record(*, user: User, enrolled: bool) -> None:
    """A staff member enrolled an authenticator app, or passed the second factor with it."""
    action = "staff.second_factor_enrolled" if enrolled else "staff.second_factor_verified"
    event_record(actor=user, action=action, subject=("auth.user", user.pk), data={})
