"""People behind staff logins, and what binds an API token to a second factor.

Logins are Django's User, second factors django-otp's devices, API tokens DRF's Token. A staff login
belongs to one StaffMember (a person, by employee id): four-eyes rules compare people, so a person
with two logins counts once and never decides their own claim (claims/migrations/0008).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from rest_framework.authtoken.models import Token


class StaffMember(models.Model):
    """A person on the exchange's staff, by employee id; each staff login belongs to one."""

    employee_id = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254, blank=True, default="")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["employee_id"]
        constraints = [models.CheckConstraint(condition=~Q(employee_id=""), name="staff_member_employee_id_set")]

    def __str__(self) -> str:
        return f"{self.employee_id} {self.name}"


class StaffAccount(models.Model):
    """The person a login belongs to (a staff login, or that person's own customer login)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="staff_account"
    )
    member = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="accounts")

    class Meta:
        # The target of the composite foreign keys of claims' decisions (user, member): a decision
        # stores both, and the database checks they belong together.
        constraints = [models.UniqueConstraint(fields=["user", "member"], name="staff_account_user_member")]

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.member_id}"


class TokenSecondFactor(models.Model):
    """The second factor an API token was issued with (a TOTP code checked at POST /api/auth/token/)."""

    token = models.OneToOneField(Token, primary_key=True, on_delete=models.CASCADE, related_name="second_factor")
    device_id = models.CharField(max_length=255)  # django-otp's persistent_id of the device
    verified_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.token_id} via {self.device_id}"
