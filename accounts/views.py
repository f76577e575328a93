"""The second-factor page (enrol a TOTP app on first use, then enter its code) and a customer's security page."""

import base64

import segno
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from accounts.forms import TotpForm
from accounts.second_factor import passkey_recently_used
from accounts.services import second_factor_record
from core.types import User

_PENDING_DEVICE = "otp_pending_device"


def _device_for(request: HttpRequest, user: User) -> tuple[TOTPDevice, bool]:
    """The user's confirmed device, or the one being enrolled in this session (created on first view)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        return device, False
    device = TOTPDevice.objects.filter(user=user, confirmed=False, pk=request.session.get(_PENDING_DEVICE)).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="default", confirmed=False)
        request.session[_PENDING_DEVICE] = device.pk
    return device, True


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP app (QR code) on first use, or enter the current code; then continue to `next`."""
    user = request.user
    assert isinstance(user, User)  # login_required
    next_url = request.GET.get("next") or request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    device, enrolling = _device_for(request, user)
    form = TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["otp_token"]):
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                request.session.pop(_PENDING_DEVICE, None)
            otp_login(request, device)
            second_factor_record(user=user, enrolled=enrolling)
            return redirect(next_url)
        form.add_error("otp_token", _("That code is not valid. Check your device's clock and try again."))
    context = {"form": form, "enrolling": enrolling, "next": next_url}
    if enrolling:
        secret = base64.b32encode(device.bin_key).decode().rstrip("=")
        context["secret"] = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_inline(scale=4)
    return render(request, "accounts/two_factor.html", context)


@login_required
def account_security(request: HttpRequest) -> HttpResponse:
    """A customer's second factors: a TOTP app (the two-factor page) or passkeys; either then guards payout changes."""
    return render(
        request,
        "accounts/account_security.html",
        {
            "totp": TOTPDevice.objects.filter(user=request.user, confirmed=True).exists(),
            "passkeys": WebAuthnCredential.objects.filter(user=request.user, confirmed=True).order_by("created_at"),
            "passkey_verified": passkey_recently_used(request),
        },
    )
