"""Forms of the staff pages: they check shapes; the services check the rules."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from reserves.models import Payout, ReserveFunding


class FundingForm(forms.Form):
    kind = forms.ChoiceField(choices=ReserveFunding.Kind.choices)
    amount_jpy = forms.IntegerField(min_value=1, label=_("Amount (¥)"))
    reference = forms.CharField(max_length=100, label=_("Remittance reference"))
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DecisionForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500)


class CustodyForm(forms.Form):
    value_jpy = forms.IntegerField(min_value=0, label=_("Customer assets in custody (¥)"))
    as_of = forms.DateTimeField(label=_("As of"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))


class PolicyForm(forms.Form):
    insurer = forms.CharField(max_length=200)
    policy_number = forms.CharField(max_length=64)
    period_start = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    period_end = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    layer_order = forms.IntegerField(min_value=1, initial=1)
    retention_jpy = forms.IntegerField(min_value=0, label=_("Retention (¥)"))
    per_occurrence_limit_jpy = forms.IntegerField(min_value=1, label=_("Per-occurrence limit (¥)"))
    aggregate_limit_jpy = forms.IntegerField(min_value=1, label=_("Aggregate limit (¥)"))
    coinsurance_share = forms.DecimalField(
        min_value=Decimal("0.0001"), max_value=Decimal(1), decimal_places=4, initial=Decimal(1)
    )
    exclusions = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class FundSettingsForm(forms.Form):
    base_amount_jpy = forms.IntegerField(min_value=0, label=_("Base amount per claimant (¥)"))
    expected_loss_jpy = forms.IntegerField(min_value=0, label=_("Expected eligible loss (¥)"))


class RecoveryForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in ("notice", "proof", "settle", "deny")])
    amount_jpy = forms.IntegerField(min_value=1, required=False)
    reference = forms.CharField(max_length=64, required=False)
    reason = forms.CharField(max_length=500, required=False)


class PayoutFilterForm(forms.Form):
    incident = forms.CharField(required=False)
    status = forms.ChoiceField(required=False, choices=[("", _("any")), *Payout.Status.choices])
    method = forms.ChoiceField(required=False, choices=[("", _("any")), ("bank", "bank"), ("crypto", "crypto")])
    rail = forms.ChoiceField(required=False, choices=[("", _("any")), ("sandbox", "sandbox"), ("zengin", "zengin")])
    q = forms.CharField(required=False, label=_("Claim or account"))
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("newest", _("newest")),
            ("oldest", _("oldest")),
            ("amount", _("amount")),
            ("attempts", _("attempts")),
        ],
    )
