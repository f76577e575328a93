"""Forms of the customer portal and the review pages."""

import re

from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.utils.translation import gettext_lazy as _

from claims import services
from claims.models import PayoutChoice


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
        *args,
        symbols: list[str] = (),
        allows_in_kind: bool = False,
        incident: object = None,
        reauth: bool = False,
        **kwargs,
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
        if incident is not None and incident.default_payout_method:
            # Elections: no choice now means the incident's default (the exchange account).
            self.fields["method"].required = False
            self.fields["method"].initial = ""
        self.fields["method"].choices = choices
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


def form_errors_apply(exc, *, payout_form: forms.Form, lines_form: forms.Form, line_symbols: list[str]) -> None:
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


class ActivationForm(forms.Form):
    password1 = forms.CharField(widget=forms.PasswordInput, label=_("New password"))
    password2 = forms.CharField(widget=forms.PasswordInput, label=_("New password again"))

    def clean(self) -> dict:
        data = super().clean()
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


class TotpForm(forms.Form):
    otp_token = forms.RegexField(
        r"^[0-9]{6}$",
        label=_("6-digit code"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class DecisionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[(d, d) for d in ("verify", "adjust", "request_info", "recommend", "approve", "reject")]
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, required=False, label=_("Reason or message")
    )


class BatchForm(forms.Form):
    incident = forms.SlugField(max_length=32, label=_("Incident"))
    amount_ceiling_jpy = forms.IntegerField(min_value=0, required=False, label=_("Amount ceiling (JPY)"))
    reason = forms.CharField(max_length=4000, required=False, label=_("Reason"))
