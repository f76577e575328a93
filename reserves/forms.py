"""Forms of the staff pages: they check shapes; the services check the rules."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.validation import MAX_COUNT, MAX_JPY, date_in_range
from reserves.models import Entitlement, Payout, ReserveFunding
from reserves.selectors.payout_history import PayoutFilter, incident_codes, payout_sources


class FundingForm(forms.Form):
    kind = forms.ChoiceField(choices=ReserveFunding.Kind.choices, label=_("Kind"))
    amount_jpy = forms.IntegerField(min_value=1, max_value=MAX_JPY, label=_("Amount (¥)"))
    reference = forms.CharField(max_length=100, label=_("Remittance reference"))
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Note"))


class DecisionForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500)


class CustodyForm(forms.Form):
    value_jpy = forms.IntegerField(min_value=0, max_value=MAX_JPY, label=_("Customer assets in custody (¥)"))
    as_of = forms.DateTimeField(
        validators=[date_in_range], label=_("As of"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class PolicyForm(forms.Form):
    insurer = forms.CharField(max_length=200, label=_("Insurer"))
    policy_number = forms.CharField(max_length=64, label=_("Policy number"))
    period_start = forms.DateTimeField(
        validators=[date_in_range],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        label=_("Period start"),
    )
    period_end = forms.DateTimeField(
        validators=[date_in_range],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        label=_("Period end"),
    )
    layer_order = forms.IntegerField(min_value=1, max_value=MAX_COUNT, initial=1, label=_("Layer order"))
    retention_jpy = forms.IntegerField(min_value=0, max_value=MAX_JPY, label=_("Retention (¥)"))
    per_occurrence_limit_jpy = forms.IntegerField(min_value=1, max_value=MAX_JPY, label=_("Per-occurrence limit (¥)"))
    aggregate_limit_jpy = forms.IntegerField(min_value=1, max_value=MAX_JPY, label=_("Aggregate limit (¥)"))
    coinsurance_share = forms.DecimalField(
        min_value=Decimal("0.0001"),
        max_value=Decimal(1),
        decimal_places=4,
        initial=Decimal(1),
        label=_("Coinsurance share"),
    )
    exclusions = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Exclusions"))


class FundSettingsForm(forms.Form):
    base_amount_jpy = forms.IntegerField(min_value=0, max_value=MAX_JPY, label=_("Base amount per claimant (¥)"))
    expected_loss_jpy = forms.IntegerField(min_value=0, max_value=MAX_JPY, label=_("Expected eligible loss (¥)"))
    expected_claimants = forms.IntegerField(
        min_value=0, max_value=MAX_COUNT, label=_("Expected number of claimants (0: not known)")
    )


class RecoveryForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in ("notice", "proof", "settle", "deny")])
    at = forms.DateTimeField(validators=[date_in_range], required=False, label=_("Date"))
    evidence = forms.CharField(max_length=300, required=False, label=_("Evidence"))
    amount_jpy = forms.IntegerField(min_value=1, max_value=MAX_JPY, required=False)
    reference = forms.CharField(max_length=64, required=False)
    reason = forms.CharField(max_length=500, required=False)


class PayoutFilterForm(forms.Form):
    incident = forms.CharField(required=False, label=_("Incident"))
    status = forms.ChoiceField(required=False, choices=[("", _("any")), *Payout.Status.choices], label=_("Status"))
    method = forms.ChoiceField(
        required=False, choices=[("", _("any")), *Entitlement.Method.choices], label=_("Payment method")
    )
    rail = forms.ChoiceField(
        required=False,
        choices=[
            ("", _("any")),
            ("sandbox", _("sandbox (test)")),
            ("zengin", _("Zengin bank file")),
            ("exchange", _("exchange account")),
            ("wallet", _("wallet batch")),
        ],
        label=_("Rail"),
    )
    q = forms.CharField(required=False, label=_("Claim or account"))
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("newest", _("newest")),
            ("oldest", _("oldest")),
            ("amount", _("amount")),
            ("attempts", _("attempts")),
        ],
        label=_("Sort"),
    )


# --- Regulator portal (reserves/selectors/payout_history.py) --------------------------------------------------


class RegulatorPayoutFilterForm(forms.Form):
    """Filters of the regulator's payout history (page and API). Times without an offset are the site's;
    `*_until` is exclusive. Incident and source must be ones that exist."""

    incident = forms.ChoiceField(required=False, label=_("Incident"))
    status = forms.ChoiceField(
        required=False, choices=[("", pgettext_lazy("regulator", "any")), *Payout.Status.choices], label=_("Status")
    )
    source = forms.ChoiceField(required=False, label=_("Source of funds"))
    created_since = forms.DateTimeField(required=False, validators=[date_in_range], label=_("Created from"))
    created_until = forms.DateTimeField(required=False, validators=[date_in_range], label=_("Created before"))
    paid_since = forms.DateTimeField(required=False, validators=[date_in_range], label=_("Paid from"))
    paid_until = forms.DateTimeField(required=False, validators=[date_in_range], label=_("Paid before"))
    amount_min = forms.IntegerField(required=False, min_value=0, max_value=MAX_JPY, label=_("Amount at least (¥)"))
    amount_max = forms.IntegerField(required=False, min_value=0, max_value=MAX_JPY, label=_("Amount at most (¥)"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        incident, source = self.fields["incident"], self.fields["source"]
        assert isinstance(incident, forms.ChoiceField) and isinstance(source, forms.ChoiceField)
        incident.choices = [
            ("", pgettext_lazy("regulator", "any")),
            *((code, code) for code in incident_codes()),
        ]
        source.choices = [
            ("", pgettext_lazy("regulator", "any")),
            *(
                (key, pgettext_lazy("regulator", "Liability reserve") if key == "reserve" else label)
                for key, label in payout_sources()
            ),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for since, until in (("created_since", "created_until"), ("paid_since", "paid_until")):
            if data.get(since) and data.get(until) and data[since] >= data[until]:
                self.add_error(until, pgettext_lazy("regulator", "Must be after the start."))
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", _("Must not be below the minimum."))
        return data

    def filters(self) -> PayoutFilter:
        data = self.cleaned_data
        return PayoutFilter(
            incident=data.get("incident") or "",
            status=data.get("status") or "",
            source=data.get("source") or "",
            created_since=data.get("created_since"),
            created_until=data.get("created_until"),
            paid_since=data.get("paid_since"),
            paid_until=data.get("paid_until"),
            amount_min=data.get("amount_min"),
            amount_max=data.get("amount_max"),
        )


REGULATOR_PAYOUT_SORTS = [
    ("-id", _("newest first")),
    ("id", _("oldest first")),
    ("-amount", _("largest amount")),
    ("amount", _("smallest amount")),
    ("-paid", _("paid, latest first")),
    ("paid", _("paid, earliest first")),
    ("incident", _("incident")),
    ("status", _("status")),
]

RESERVE_SERIES_MAX_DAYS = 3660


class ReserveRangeForm(forms.Form):
    """The days of the reserve chart: `since` and `until` included; default the last 90 days."""

    since = forms.DateField(required=False, validators=[date_in_range], label=pgettext_lazy("regulator", "From"))
    until = forms.DateField(required=False, validators=[date_in_range], label=_("To"))

    DEFAULT_DAYS = 90

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        until = data.get("until") or timezone.localdate()
        since = data.get("since") or until - dt.timedelta(days=self.DEFAULT_DAYS - 1)
        if since > until:
            self.add_error("until", _("Must not be before the start."))
        elif (until - since).days + 1 > RESERVE_SERIES_MAX_DAYS:
            self.add_error("since", _("At most %(days)s days at a time.") % {"days": RESERVE_SERIES_MAX_DAYS})
        data["since"], data["until"] = since, until
        return data
