from django import forms
from django.utils.translation import gettext_lazy as _


class TotpForm(forms.Form):
    otp_token = forms.RegexField(
        r"^[0-9]{6}$",
        label=_("6-digit code"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


_ROLE_CHOICES = [("reviewer", _("Reviewer")), ("approver", _("Approver")), ("admin", _("Admin"))]


class StaffMemberCreateForm(forms.Form):
    employee_id = forms.CharField(max_length=32, label=_("Employee id"))
    name = forms.CharField(max_length=200, label=_("Name"))
    email = forms.EmailField(required=False, label=_("Email"))
    username = forms.CharField(max_length=150, label=_("Username"))
    role = forms.ChoiceField(choices=_ROLE_CHOICES, label=_("Role"))
    password = forms.CharField(widget=forms.PasswordInput, label=_("Initial password"), min_length=10)


class StaffMemberChangeForm(forms.Form):
    name = forms.CharField(max_length=200, label=_("Name"))
    email = forms.EmailField(required=False, label=_("Email"))
    active = forms.BooleanField(required=False, label=_("Active"))


class StaffAccountLinkForm(forms.Form):
    username = forms.CharField(max_length=150, label=_("Another login of this person"))


class StaffAccountRoleForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.HiddenInput)
    role = forms.ChoiceField(choices=_ROLE_CHOICES, label=_("Role"))
