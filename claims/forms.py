from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from claims.models import Incident, IncidentAsset

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class IncidentForm(forms.Form):
    code = forms.SlugField(max_length=32, label=_("Code"))
    title = forms.CharField(max_length=200, label=_("Title"))
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label=_("Description"))
    occurred_at = forms.DateTimeField(widget=DATETIME_WIDGET, label=_("Occurred at"))
    detected_at = forms.DateTimeField(widget=DATETIME_WIDGET, label=_("Detected at"))
    snapshot_base_time = forms.DateTimeField(widget=DATETIME_WIDGET, label=_("Snapshot base time"))
    claim_opens_at = forms.DateTimeField(widget=DATETIME_WIDGET, label=_("Claims open"))
    claim_closes_at = forms.DateTimeField(widget=DATETIME_WIDGET, label=_("Claims close"))
    allows_in_kind = forms.BooleanField(required=False, label=_("Customers may be paid in kind"))


class AssetForm(forms.Form):
    symbol = forms.RegexField(r"^[A-Za-z0-9-]{1,16}$", label=_("Asset"))
    quantity_lost = forms.DecimalField(max_digits=38, decimal_places=18, min_value=0, label=_("Quantity lost"))
    wallet_type = forms.ChoiceField(choices=IncidentAsset.WalletType.choices, label=_("Wallet"))
    reference_price_jpy = forms.DecimalField(
        max_digits=28, decimal_places=8, min_value=0, required=False, label=_("Reference price (JPY)")
    )
    price_source = forms.CharField(max_length=200, required=False, label=_("Price source"))
    price_method = forms.CharField(max_length=300, required=False, label=_("Price method"))


AssetFormSet = formset_factory(AssetForm, extra=3, min_num=1, validate_min=True)


class PriceForm(forms.Form):
    reference_price_jpy = forms.DecimalField(max_digits=28, decimal_places=8, min_value=0, label=_("Price (JPY)"))
    price_source = forms.CharField(max_length=200, label=_("Source"))
    price_method = forms.CharField(max_length=300, required=False, label=_("Method"))
    reason = forms.CharField(max_length=1000, required=False, label=_("Reason"))


class SnapshotUploadForm(forms.Form):
    file = forms.FileField(label=_("Snapshot CSV"))


class TransitionForm(forms.Form):
    to = forms.ChoiceField(choices=Incident.Status.choices)
    reason = forms.CharField(max_length=1000, required=False, label=_("Reason"))
