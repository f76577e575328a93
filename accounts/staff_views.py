"""The admins' Staff members page: create a person with their first login, change, disable, link logins, set roles."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts import people
from accounts.forms import StaffAccountLinkForm, StaffAccountRoleForm, StaffMemberChangeForm, StaffMemberCreateForm
from accounts.models import StaffMember
from core.errors import ApplicationError
from core.roles import Role, role_required, signed_in_user

admin_required = role_required(Role.ADMIN)


def _errors_to(form: Form, exc: ApplicationError) -> None:
    for field, errors in exc.extra.get("fields", {}).items():
        form.add_error(field if field in form.fields else None, errors)
    if not exc.extra.get("fields"):
        form.add_error(None, exc.detail)


@admin_required
def staff_member_list(request: HttpRequest) -> HttpResponse:
    """Every staff member and their logins; a form for a new one."""
    form = StaffMemberCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = people.staff_member_create(actor=signed_in_user(request), **form.cleaned_data)
        except ApplicationError as exc:
            _errors_to(form, exc)
        else:
            messages.success(request, _("Staff member %(id)s created.") % {"id": member.employee_id})
            return redirect("accounts:staff-members")
    return render(
        request,
        "accounts/staff_members.html",
        {"form": form, "members": people.staff_members(), "unlinked": people.unlinked_staff_logins()},
    )


@admin_required
def staff_member_detail(request: HttpRequest, member_id: int) -> HttpResponse:
    """Change one member: name, email, active; link another login; set a login's role."""
    member = get_object_or_404(StaffMember, pk=member_id)
    actor = signed_in_user(request)
    action = request.POST.get("form", "") if request.method == "POST" else ""
    change = StaffMemberChangeForm(
        request.POST if action == "change" else None,
        initial={"name": member.name, "email": member.email, "active": member.active},
    )
    link = StaffAccountLinkForm(request.POST if action == "link" else None)
    role = StaffAccountRoleForm(request.POST if action == "role" else None)
    bound = {"change": change, "link": link, "role": role}.get(action)
    if bound is not None and bound.is_valid():
        data = bound.cleaned_data
        try:
            if action == "change":
                people.staff_member_update(actor=actor, member=member, **data)
            elif action == "link":
                people.staff_account_link(actor=actor, member=member, username=data["username"])
            else:
                user = get_object_or_404(get_user_model(), username=data["username"], staff_account__member=member)
                people.staff_account_role_set(actor=actor, user=user, role=data["role"])
        except ApplicationError as exc:
            _errors_to(bound, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("accounts:staff-member", member_id=member.pk)
    accounts = [
        (account.user, sorted(g.name for g in account.user.groups.all()))
        for account in member.accounts.select_related("user").prefetch_related("user__groups")
    ]
    return render(
        request,
        "accounts/staff_member.html",
        {"member": member, "change": change, "link": link, "accounts": accounts, "roles": StaffAccountRoleForm},
    )
