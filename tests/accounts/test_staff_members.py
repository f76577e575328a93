"""Admins create, change and disable staff members on a page and with a command; every change is audited."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from rest_framework.authtoken.models import Token

from accounts.models import StaffMember
from audit.models import Event
from core.roles import Role, has_role
from tests.support.factories import PASSWORD, user_with_role
from tests.support.login import login_verified, staff

pytestmark = pytest.mark.django_db


def _admin_client(client):
    admin = staff(Role.ADMIN)
    login_verified(client, admin)
    return admin


def test_staff_create_makes_a_person_with_a_login_and_audits_it(monkeypatch, capsys):
    monkeypatch.setenv("NEW_STAFF_PASSWORD", "a-long-initial-pass")
    call_command(
        "staff_create",
        "--employee-id=E-1001",
        "--name=Tanaka Hanako",
        "--email=tanaka@example.jp",
        "--username=tanaka",
        "--role=approver",
        "--password-env=NEW_STAFF_PASSWORD",
    )
    user = get_user_model().objects.get(username="tanaka")
    assert user.check_password("a-long-initial-pass") and has_role(user, Role.APPROVER)
    assert user.staff_account.member.employee_id == "E-1001"
    event = Event.objects.get(action="staff_member.created")
    assert event.actor == "command:staff_create" and event.data["after"]["accounts"] == ["tanaka"]
    assert "E-1001" in capsys.readouterr().out


def test_staff_create_refuses_a_taken_employee_id_and_a_weak_password(monkeypatch):
    monkeypatch.setenv("PW", "a-long-initial-pass")
    args = ["--name=A", "--username=a1", "--role=reviewer", "--password-env=PW"]
    call_command("staff_create", "--employee-id=E-1", *args)
    with translation.override("en"), pytest.raises(CommandError, match="taken"):
        call_command("staff_create", "--employee-id=e-1", *args[:1], "--username=a2", *args[2:])
    monkeypatch.setenv("PW", "short")
    with pytest.raises(CommandError):
        call_command(
            "staff_create", "--employee-id=E-2", "--name=B", "--username=b1", "--role=reviewer", "--password-env=PW"
        )
    assert StaffMember.objects.count() == 1


def test_an_admin_creates_changes_and_disables_a_member_on_the_page(client):
    _admin_client(client)
    created = client.post(
        "/staff/members/",
        {
            "employee_id": "E-2001",
            "name": "Sato Ken",
            "email": "ken@example.jp",
            "username": "ken",
            "role": "reviewer",
            "password": "a-long-initial-pass",
        },
    )
    assert created.status_code == 302
    member = StaffMember.objects.get(employee_id="E-2001")
    ken = get_user_model().objects.get(username="ken")
    assert "E-2001" in client.get("/staff/members/").content.decode()

    page = f"/staff/members/{member.pk}/"
    client.post(page, {"form": "change", "name": "Sato Kenji", "email": "ken@example.jp", "active": "on"})
    client.post(page, {"form": "role", "username": "ken", "role": "approver"})
    second = user_with_role(Role.CUSTOMER, username="ken-customer")
    client.post(page, {"form": "link", "username": second.username})
    Token.objects.create(user=ken)
    client.post(page, {"form": "change", "name": "Sato Kenji", "email": "ken@example.jp"})  # active unticked

    member.refresh_from_db()
    ken.refresh_from_db()
    assert member.name == "Sato Kenji" and not member.active
    assert has_role(ken, Role.APPROVER) and not has_role(ken, Role.REVIEWER)
    assert not ken.is_active and not Token.objects.filter(user=ken).exists()
    assert second.staff_account.member == member
    actions = list(
        Event.objects.filter(subject_type="accounts.staffmember").order_by("seq").values_list("action", flat=True)
    )
    assert actions == [
        "staff_member.created",
        "staff_member.changed",
        "staff_member.role_changed",
        "staff_member.account_linked",
        "staff_member.disabled",
    ]


def test_a_login_already_someone_elses_cannot_be_linked(client):
    _admin_client(client)
    other = staff(Role.REVIEWER)
    member = StaffMember.objects.create(employee_id="E-9", name="Nine")
    response = client.post(
        f"/staff/members/{member.pk}/", {"form": "link", "username": other.username}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200 and "belongs to staff member" in response.content.decode()


@pytest.mark.parametrize("role", [Role.APPROVER, Role.REVIEWER, Role.REGULATOR, Role.CUSTOMER])
def test_only_admins_reach_the_page(client, role):
    user = staff(role) if role != Role.CUSTOMER and role != Role.REGULATOR else user_with_role(role)
    if role in (Role.APPROVER, Role.REVIEWER):
        login_verified(client, user)
    else:
        client.login(username=user.username, password=PASSWORD)
    assert client.get("/staff/members/").status_code == 403
