"""A customer's second factors: a TOTP app (/account/two-factor/) or passkeys (django-otp-webauthn).

With either enrolled, changing payout details also needs it (claims/payout_guard.py).
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from claims import payout_guard


@login_required
def account_security(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "claims/account_security.html",
        {
            "totp": TOTPDevice.objects.filter(user=request.user, confirmed=True).exists(),
            "passkeys": WebAuthnCredential.objects.filter(user=request.user, confirmed=True).order_by("created_at"),
            "passkey_verified": payout_guard.passkey_recently_used(request),
        },
    )
