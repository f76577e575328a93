"""Forms of the claims pages (staff incidents, the customer portal, the review desk) and the review queue's query.

Each form only parses input; rules live in the services, whose field errors
`form_errors_apply` places back on the form.
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.forms import formset_factory
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from claims import selectors, services
from claims.models import Claim, Incident, IncidentAsset, PayoutChoice
from core.errors import ApplicationError, InvalidInput
from core.validation import MAX_DAYS, MAX_JPY, date_in_range

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class IncidentForm(forms.Form):
    code = forms.SlugField(max_length=32, label=_("Code"))
    title = forms.CharField(max_length=200, label=_("Title"))
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label=_("Description"))
    occurred_at = forms.DateTimeField(validators=[date_in_range], widget=DATETIME_WIDGET, label=_("Occurred at"))
    detected_at = forms.DateTimeField(validators=[date_in_range], widget=DATETIME_WIDGET, label=_("Detected at"))
    snapshot_base_time = forms.DateTimeField(
        validators=[date_in_range], widget=DATETIME_WIDGET, label=_("Snapshot base time")
    )
    claim_opens_at = forms.DateTimeField(validators=[date_in_range], widget=DATETIME_WIDGET, label=_("Claims open"))
    claim_closes_at = forms.DateTimeField(validators=[date_in_range], widget=DATETIME_WIDGET, label=_("Claims close"))
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


class PayoutForm(forms.Form):
    method = forms.ChoiceField(
        choices=PayoutChoice.Method.choices, widget=forms.RadioSelect, initial="bank", label=_("How to be paid")
    )
    bank_code = forms.CharField(max_length=4, required=False, label=_("Bank code (4 digits)"))
    branch_code = forms.CharField(max_length=3, required=False, label=_("Branch code (3 digits)"))
    account_type = forms.ChoiceField(
        choices=PayoutChoice.AccountType.choices, required=False, initial="1", label=_("Account type")
    )
    account_number = forms.CharField(max_length=7, required=False, label=_("Account number (7 digits)"))
    holder_name = forms.CharField(max_length=100, required=False, label=_("Account holder (katakana)"))

    def __init__(
        self,
        *args: Any,
        symbols: Sequence[str] = (),
        allows_in_kind: bool = False,
        incident: Incident | None = None,
        reauth: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if incident is not None:
            allows_in_kind = incident.allows_in_kind
        self.symbols = list(symbols) if allows_in_kind else []
        choices = [("bank", PayoutChoice.Method.BANK.label)]
        if allows_in_kind:
            choices.append(("in_kind", PayoutChoice.Method.IN_KIND.label))
        if incident is not None and incident.offers_exchange_account:
            choices.insert(0, ("exchange", PayoutChoice.Method.EXCHANGE.label))
        method = self.fields["method"]
        assert isinstance(method, forms.ChoiceField)
        if incident is not None and incident.default_payout_method:
            # Elections: no choice now means the incident's default (the exchange account).
            method.required = False
            method.initial = ""
        method.choices = choices
        if reauth:
            # Changing where the money goes: the password again, and the code of an enrolled authenticator.
            self.fields["password"] = forms.CharField(
                widget=forms.PasswordInput, label=_("Your password (to confirm the change)")
            )
            self.fields["otp_token"] = forms.CharField(
                max_length=12, required=False, label=_("Authenticator code (if you enrolled one)")
            )
        for symbol in self.symbols:
            self.fields[f"address_{symbol}"] = forms.CharField(
                max_length=128, required=False, label=_("%(symbol)s address") % {"symbol": symbol}
            )

    def payout_input(self) -> services.PayoutInput:
        data = self.cleaned_data
        return services.PayoutInput(
            method=data.get("method") or "",
            bank_code=data.get("bank_code", "").strip(),
            branch_code=data.get("branch_code", "").strip(),
            account_type=data.get("account_type", ""),
            account_number=data.get("account_number", "").strip(),
            holder_name=data.get("holder_name", ""),
            addresses={s: data[f"address_{s}"].strip() for s in self.symbols if data.get(f"address_{s}", "").strip()},
        )

    def address_fields(self) -> list:
        return [self[f"address_{s}"] for s in self.symbols]


class ClaimLinesForm(forms.Form):
    """One claimed quantity and reason per asset of the incident (pre-filled with the snapshot)."""

    def __init__(self, *args, assets: list, holdings: dict, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rows = []
        for asset in assets:
            snapshot = holdings.get(asset.symbol)
            self.fields[f"qty_{asset.symbol}"] = forms.DecimalField(
                max_digits=38,
                decimal_places=18,
                min_value=0,
                required=False,
                initial=snapshot,
                label=_("Claimed %(symbol)s") % {"symbol": asset.symbol},
            )
            self.fields[f"reason_{asset.symbol}"] = forms.CharField(
                max_length=2000, required=False, label=_("Why it differs")
            )
            self.rows.append((asset, snapshot))

    def line_inputs(self) -> list[services.ClaimLineInput]:
        lines = []
        for asset, snapshot in self.rows:
            quantity = self.cleaned_data.get(f"qty_{asset.symbol}")
            if quantity is None or (snapshot is not None and quantity == snapshot):
                continue
            lines.append(services.ClaimLineInput(asset.symbol, quantity, self.cleaned_data[f"reason_{asset.symbol}"]))
        return lines

    def bound_rows(self) -> list:
        return [
            (asset, snapshot, self[f"qty_{asset.symbol}"], self[f"reason_{asset.symbol}"])
            for asset, snapshot in self.rows
        ]


def error_text(exc: ApplicationError) -> str:
    """A service's error as one line for a page message, with the fields it names."""
    fields = exc.extra.get("fields")
    if fields:
        return f"{exc.detail} " + "; ".join(f"{k}: {', '.join(v)}" for k, v in fields.items())
    return exc.detail


def form_errors_apply(
    exc: ApplicationError, *, payout_form: forms.Form, lines_form: forms.Form, line_symbols: list[str]
) -> None:
    """Show a service's field errors (payout.x, lines[i].x) on the form fields, the rest at the top."""
    placed = False
    for name, errors in exc.extra.get("fields", {}).items():
        line = re.fullmatch(r"lines\[(\d+)\]\.(\w+)", name)
        if line and int(line[1]) < len(line_symbols):
            symbol = line_symbols[int(line[1])]
            lines_form.add_error(f"reason_{symbol}" if line[2] == "reason" else f"qty_{symbol}", errors)
            placed = True
        elif name.startswith("payout.") and name.split(".")[-1] in payout_form.fields:
            payout_form.add_error(name.split(".")[-1], errors)
            placed = True
    if not placed:
        lines_form.add_error(None, exc.detail)


class ElectionForm(forms.Form):
    offers_exchange_account = forms.BooleanField(required=False, label=_("Offer the exchange account"))
    default_payout_method = forms.ChoiceField(
        required=False,
        choices=[("", _("No default")), ("exchange", _("Exchange account"))],
        label=_("Default method"),
    )
    election_deadline = forms.DateTimeField(
        validators=[date_in_range],
        required=False,
        label=_("Election deadline"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )


class ActivationForm(forms.Form):
    password1 = forms.CharField(widget=forms.PasswordInput, label=_("New password"))
    password2 = forms.CharField(widget=forms.PasswordInput, label=_("New password again"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") != data.get("password2"):
            raise forms.ValidationError(_("The two passwords differ."))
        return data


class CustomerPasswordResetForm(PasswordResetForm):
    """Django's reset, plus a fresh activation link for customers who never activated. Same answer for all."""

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        services.activation_links_send(email=self.cleaned_data["email"])


class AppealForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4000, label=_("Why you appeal"))


class RespondForm(forms.Form):
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=4000, required=False, label=_("Your answer")
    )


class DecisionForm(forms.Form):
    action = forms.ChoiceField(choices=[(d, d) for d in services.DECISIONS])
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, required=False, label=_("Reason or message")
    )


class BatchForm(forms.Form):
    incident = forms.SlugField(max_length=32, label=_("Incident"))
    amount_ceiling_jpy = forms.IntegerField(
        min_value=0, max_value=MAX_JPY, required=False, label=_("Amount ceiling (JPY)")
    )
    reason = forms.CharField(max_length=4000, required=False, label=_("Reason"))


def _bool_param(value: str | None, name: str) -> bool | None:
    if not value:
        return None
    if value.lower() in {"true", "1", "yes"}:
        return True
    if value.lower() in {"false", "0", "no"}:
        return False
    raise InvalidInput(
        "invalid",
        gettext("%(name)s must be true or false.") % {"name": name},
        extra={"fields": {name: [gettext("true or false")]}},
    )


def _int_param(value: str | None, name: str, maximum: int) -> int | None:
    if not value:
        return None
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
    if not (value.isascii() and value.isdigit()) or int(value) > maximum:
        raise InvalidInput(
            "invalid",
            gettext("%(name)s must be a whole number from 0 to %(max)s.") % {"name": name, "max": maximum},
            extra={"fields": {name: [gettext("a whole number from 0 to %(max)s") % {"max": maximum}]}},
        )
    return int(value)


def review_filters(params: Mapping[str, str]) -> selectors.ReviewFilters:
    """Query parameters of the review queue (the API and the page share them); 400 naming a bad one."""
    status_value = params.get("status") or None
    if status_value and status_value not in Claim.Status.values:
        raise InvalidInput(
            "invalid", gettext("Unknown status."), extra={"fields": {"status": [gettext("unknown status")]}}
        )
    sort = params.get("sort") or "submitted"
    if sort not in selectors.REVIEW_SORTS:
        raise InvalidInput(
            "invalid", gettext("Unknown sort."), extra={"fields": {"sort": list(selectors.REVIEW_SORTS)}}
        )
    return selectors.ReviewFilters(
        incident=params.get("incident") or None,
        status=status_value,
        disputed=_bool_param(params.get("disputed"), "disputed"),
        matches_snapshot=_bool_param(params.get("matches_snapshot"), "matches_snapshot"),
        amount_min=_int_param(params.get("amount_min"), "amount_min", MAX_JPY),
        amount_max=_int_param(params.get("amount_max"), "amount_max", MAX_JPY),
        older_than_days=_int_param(params.get("older_than_days"), "older_than_days", MAX_DAYS),
        newer_than_days=_int_param(params.get("newer_than_days"), "newer_than_days", MAX_DAYS),
        q=params.get("q") or None,
        sort=sort,
    )
