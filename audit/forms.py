import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from audit.selectors import EventFilter
from core.validation import date_in_range


class EventFilterForm(forms.Form):
    """Search filters for the audit browser (page and API).

    Times are in the site's time zone unless they carry an offset; `until` is exclusive.
    """

    subject_type = forms.CharField(required=False, max_length=64, label=_("Subject type"))
    subject_id = forms.CharField(required=False, max_length=64, label=_("Subject id"))
    actor = forms.CharField(required=False, max_length=150, label=_("Actor"))
    action = forms.CharField(required=False, max_length=65, label=_("Action"), help_text=_("claim.* for a prefix"))
    since = forms.DateTimeField(required=False, validators=[date_in_range], label=_("From"))
    until = forms.DateTimeField(required=False, validators=[date_in_range], label=_("Until"))
    claim = forms.CharField(required=False, max_length=16, label=_("Claim reference"))
    payout = forms.CharField(required=False, max_length=20, label=_("Payout number"))
    views = forms.BooleanField(required=False, label=_("Include regulators' page views"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            self.add_error("until", _("Must be after the start."))
        return data

    def filters(self, *, views_by_default: bool = True) -> EventFilter:
        """The search; the page hides the regulators' own page views unless asked (`views_by_default=False`)."""
        data = self.cleaned_data
        return EventFilter(
            claim_ref=data.get("claim", ""),
            payout=data.get("payout", ""),
            hide_views=not (data.get("views") or views_by_default),
            subject_type=data.get("subject_type", ""),
            subject_id=data.get("subject_id", ""),
            actor=data.get("actor", ""),
            action=data.get("action", ""),
            since=data.get("since"),
            until=data.get("until"),
        )


class ReceiptVerifyForm(forms.Form):
    """A receipt pasted as text or uploaded as a .json file."""

    receipt = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 10}), label=_("Receipt (JSON)"))
    file = forms.FileField(required=False, label=_("or upload the receipt file"))

    MAX_BYTES = 256 * 1024

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is not None:
            if upload.size > self.MAX_BYTES:
                raise forms.ValidationError(_("The file is too large to be a receipt."))
            text = upload.read().decode("utf-8-sig", errors="replace")
        else:
            text = data.get("receipt", "")
        if not text.strip():
            raise forms.ValidationError(_("Paste a receipt or choose its file."))
        try:
            data["document"] = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(_("This is not valid JSON: %(error)s") % {"error": exc}) from exc
        return data


class RegulatorCreateForm(forms.Form):
    username = forms.CharField(max_length=150, label=_("Username"))
    email = forms.EmailField(label=_("Email"))
    password = forms.CharField(widget=forms.PasswordInput, label=_("Initial password"), min_length=10)
