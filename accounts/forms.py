from django import forms
from django.utils.translation import gettext_lazy as _


class TotpForm(forms.Form):
    otp_token = forms.RegexField(
        r"^[0-9]{6}$",
        label=_("6-digit code"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
