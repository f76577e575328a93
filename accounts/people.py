"""Staff members: the people behind staff logins. Admins create, change and disable them; every change is audited.

Four-eyes rules compare people (`person_of`), never logins: a person with two logins counts once,
and a person never decides a claim whose customer login belongs to them (claims.services.review,
and the database: claims/migrations/0008).
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import StaffAccount, StaffMember
from accounts.tokens import tokens_revoke
from audit.services import Actor, event_record
from core.errors import ApplicationError, Conflict, InvalidInput
from core.roles import STAFF_ROLES, Role, has_role, is_staff_member
from core.types import User

STAFF_ROLE_NAMES = sorted(role.value for role in STAFF_ROLES)


def person_of(user: Any) -> StaffMember | None:
    """The staff member a login belongs to (None for a login of nobody on the staff)."""
    if user is None or not getattr(user, "pk", None):
        return None
    account = StaffAccount.objects.select_related("member").filter(user_id=user.pk).first()
    return account.member if account is not None else None


def same_person(user_id: int, other_user_id: int) -> bool:
    """Whether two logins are one person: the same login, or two logins of one staff member."""
    if user_id == other_user_id:
        return True
    members = StaffAccount.objects.filter(user_id__in=[user_id, other_user_id]).values_list("member_id", flat=True)
    found = list(members)
    return len(found) == 2 and found[0] == found[1]


def staff_member_require(user: User) -> StaffMember:
    """The acting staff login's person; 403 when the login belongs to nobody or the person is disabled."""
    member = person_of(user)
    if member is None:
        raise ApplicationError(
            "no_staff_member",
            _("This login belongs to no staff member: an admin links it to one (Staff members page)."),
            status=403,
        )
    if not member.active:
        raise ApplicationError(
            "staff_member_disabled",
            _("Staff member %(id)s is disabled.") % {"id": member.employee_id},
            status=403,
        )
    return member


def _require_admin(actor: Any) -> None:
    if not isinstance(actor, Actor) and not has_role(actor, Role.ADMIN):
        raise ApplicationError("permission_denied", _("Only admins manage staff members."), status=403)


def _member_state(member: StaffMember) -> dict[str, Any]:
    return {
        "employee_id": member.employee_id,
        "name": member.name,
        "email": member.email,
        "active": member.active,
        "accounts": sorted(member.accounts.values_list("user__username", flat=True)),
    }


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput("invalid", message, extra={"fields": {field: [message]}})


@transaction.atomic(durable=True)
def staff_member_create(
    *, actor: Any, employee_id: str, name: str, email: str = "", username: str, role: str, password: str
) -> StaffMember:
    """A new staff member with their first login (the given staff role). 400 bad input, 409 taken."""
    _require_admin(actor)
    employee_id, name, username, email = employee_id.strip(), name.strip(), username.strip(), email.strip()
    if not employee_id:
        raise _invalid("employee_id", _("Enter the employee id."))
    if not name:
        raise _invalid("name", _("Enter the name."))
    if role not in STAFF_ROLE_NAMES:
        raise _invalid("role", _("The role is one of %(roles)s.") % {"roles": ", ".join(STAFF_ROLE_NAMES)})
    if StaffMember.objects.filter(employee_id__iexact=employee_id).exists():
        raise Conflict("employee_id_taken", _("Employee id %(id)s is taken.") % {"id": employee_id})
    users = get_user_model()
    user = users(username=username, email=email)
    try:
        user.full_clean(exclude=["password"], validate_unique=False)
        validate_password(password, user)
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"password": exc.messages}
        raise InvalidInput("invalid", _("The staff login is invalid."), extra={"fields": fields}) from exc
    if users.objects.filter(username__iexact=username).exists():
        raise Conflict("username_taken", _("The username %(name)s is taken.") % {"name": username})
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=role))
    member = StaffMember.objects.create(employee_id=employee_id, name=name, email=email)
    StaffAccount.objects.create(user=user, member=member)
    event_record(
        actor=actor,
        action="staff_member.created",
        subject=member,
        data={"after": {**_member_state(member), "role": role}},
    )
    return member


@transaction.atomic
def staff_account_ensure(*, actor: Any, user: User, employee_id: str, name: str) -> StaffMember:
    """The staff member of an existing login, created (as employee_id) when it has none: commands, demo data."""
    _require_admin(actor)
    member = person_of(user)
    if member is not None:
        return member
    member = StaffMember.objects.filter(employee_id=employee_id).first()
    created = member is None
    if member is None:
        member = StaffMember.objects.create(employee_id=employee_id, name=name, email=user.email)
    StaffAccount.objects.create(user=user, member=member)
    event_record(
        actor=actor,
        action="staff_member.created" if created else "staff_member.account_linked",
        subject=member,
        data={"after": _member_state(member), "username": user.username},
    )
    return member


@transaction.atomic(durable=True)
def staff_member_update(
    *, actor: Any, member: StaffMember, name: str | None = None, email: str | None = None, active: bool | None = None
) -> StaffMember:
    """Change a member's name or email, or disable / enable them.

    Disabling deactivates every login of the person (their sessions end, their tokens are deleted);
    enabling reactivates them.
    """
    _require_admin(actor)
    member = StaffMember.objects.select_for_update().get(pk=member.pk)
    before = _member_state(member)
    if name is not None:
        if not name.strip():
            raise _invalid("name", _("Enter the name."))
        member.name = name.strip()
    if email is not None:
        member.email = email.strip()
    if active is not None and active != member.active:
        if not active and not isinstance(actor, Actor) and person_of(actor) == member:
            raise ApplicationError("own_member", _("You cannot disable yourself."), status=403)
        member.active = active
        user_ids = list(member.accounts.values_list("user_id", flat=True))
        get_user_model().objects.filter(pk__in=user_ids).update(is_active=active)
        if not active:
            tokens_revoke(user_ids=user_ids)
    member.save()
    after = _member_state(member)
    if after != before:
        action = "staff_member.changed"
        if before["active"] != after["active"]:
            action = "staff_member.enabled" if member.active else "staff_member.disabled"
        event_record(actor=actor, action=action, subject=member, data={"before": before, "after": after})
    return member


@transaction.atomic(durable=True)
def staff_account_link(*, actor: Any, member: StaffMember, username: str) -> StaffMember:
    """Link another login to the person: a second staff login, or their own customer login.

    A login that already belongs to someone is a 409; moving one is not offered (its decisions
    name its person).
    """
    _require_admin(actor)
    user = get_user_model().objects.filter(username__iexact=username.strip()).first()
    if user is None:
        raise _invalid("username", _("No login %(name)s.") % {"name": username})
    existing = person_of(user)
    if existing is not None:
        if existing.pk == member.pk:
            return member
        raise Conflict(
            "account_taken",
            _("%(name)s belongs to staff member %(id)s already.") % {"name": user.username, "id": existing.employee_id},
        )
    before = _member_state(member)
    StaffAccount.objects.create(user=user, member=member)
    event_record(
        actor=actor,
        action="staff_member.account_linked",
        subject=member,
        data={"before": before, "after": _member_state(member), "username": user.username},
    )
    return member


@transaction.atomic(durable=True)
def staff_account_role_set(*, actor: Any, user: User, role: str) -> User:
    """Give a staff member's login one staff role (replacing its others); its tokens and sessions end."""
    _require_admin(actor)
    if role not in STAFF_ROLE_NAMES:
        raise _invalid("role", _("The role is one of %(roles)s.") % {"roles": ", ".join(STAFF_ROLE_NAMES)})
    member = person_of(user)
    if member is None:
        raise _invalid("username", _("%(name)s belongs to no staff member.") % {"name": user.username})
    before = sorted(user.groups.filter(name__in=STAFF_ROLE_NAMES).values_list("name", flat=True))
    if before == [role]:
        return user
    user.groups.remove(*Group.objects.filter(name__in=STAFF_ROLE_NAMES))
    user.groups.add(Group.objects.get(name=role))
    event_record(
        actor=actor,
        action="staff_member.role_changed",
        subject=member,
        data={"username": user.username, "before": {"roles": before}, "after": {"roles": [role]}},
    )
    return user


def staff_members() -> list[StaffMember]:
    """Every staff member with their logins, for the admins' page."""
    return list(StaffMember.objects.prefetch_related("accounts__user__groups").order_by("employee_id"))


def unlinked_staff_logins() -> list[User]:
    """Staff logins that belong to nobody yet (they cannot decide anything until linked)."""
    users = get_user_model().objects.filter(groups__name__in=STAFF_ROLE_NAMES, staff_account__isnull=True)
    return [u for u in users.distinct().order_by("username") if is_staff_member(u)]
