"""Requests for a password-reset or activation link, throttled per address and per client.

Counted in the cache (Redis in production) over RESET_THROTTLE_WINDOW_SECONDS; the same counts and the
same answers whether the address is known or not: under the limits every valid request is told "sent",
over either limit every request gets 429, so neither reveals whether an address has a login. The
e-mail to a known address is sent in the request (its one-time token must not travel through the
broker), so every answer is held to at least RESET_RESPONSE_MIN_SECONDS: known and unknown
addresses take the same time as long as sending takes less.
"""

import hashlib
import time
from typing import Any

from django.conf import settings
from django.contrib.auth.views import PasswordResetView
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.backends import username_key


def _hit(key: str, limit: int) -> bool:
    """Count one request under `key`; whether it is still within `limit`."""
    window = settings.RESET_THROTTLE_WINDOW_SECONDS
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= limit


def link_request_allowed(*, request: HttpRequest, address: str) -> bool:
    """Count a link request for `address` from this client; False when either is over its limit."""
    digest = hashlib.sha256(username_key(address).encode()).hexdigest()
    client = request.META.get("REMOTE_ADDR", "") or "unknown"
    per_address = _hit(f"link-request:address:{digest}", settings.RESET_REQUESTS_PER_ADDRESS)
    per_client = _hit(f"link-request:client:{client}", settings.RESET_REQUESTS_PER_CLIENT)
    return per_address and per_client


class ThrottledPasswordResetView(PasswordResetView):
    """Django's reset page (which also sends activation links, claims.forms), throttled (module docstring)."""

    def form_valid(self, form: Any) -> HttpResponse:
        started = time.monotonic()
        if not link_request_allowed(request=self.request, address=form.cleaned_data["email"]):
            response: HttpResponse = render(self.request, "registration/password_reset_throttled.html", status=429)
        else:
            response = super().form_valid(form)
        time.sleep(max(0.0, settings.RESET_RESPONSE_MIN_SECONDS - (time.monotonic() - started)))
        return response
