"""Reset and activation link requests: throttled per address and per client; known and unknown answered alike."""

import pytest

from claims.models import Customer
from tests.support.factories import customer_user

pytestmark = pytest.mark.django_db

LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "link-throttle"}}


@pytest.fixture(autouse=True)
def _fresh_counts(settings):
    settings.CACHES = LOCAL_CACHE
    settings.RESET_REQUESTS_PER_ADDRESS = 3
    settings.RESET_REQUESTS_PER_CLIENT = 5
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def known():
    customer_user(Customer.objects.create(account_id="ACC-91", name="Known", email="known@example.jp"))
    return "known@example.jp"


def _ask(client, email, ip="10.0.0.1"):
    return client.post("/password-reset/", {"email": email}, REMOTE_ADDR=ip)


def test_known_and_unknown_addresses_get_the_same_answer(client, known, mailoutbox):
    first, second = _ask(client, known), _ask(client, "nobody@example.jp", ip="10.0.0.2")
    assert (
        (first.status_code, first["Location"])
        == (second.status_code, second["Location"])
        == (302, "/password-reset/sent/")
    )
    assert len(mailoutbox) == 1


@pytest.mark.parametrize("address", ["known@example.jp", "nobody@example.jp"])
def test_an_address_is_throttled_whoever_asks_and_whatever_its_case(client, known, address, mailoutbox):
    statuses = [_ask(client, address.upper() if i % 2 else address, ip=f"10.0.1.{i}").status_code for i in range(4)]
    assert statuses == [302, 302, 302, 429]
    assert len(mailoutbox) == (3 if address == known else 0)


def test_a_client_is_throttled_whatever_addresses_it_asks_for(client, known):
    statuses = [_ask(client, f"person{i}@example.jp", ip="10.0.2.1").status_code for i in range(6)]
    assert statuses == [302] * 5 + [429]
    assert _ask(client, "person0@example.jp", ip="10.0.2.2").status_code == 302  # another client is not


def test_known_and_unknown_addresses_take_at_least_the_same_floor(client, known, settings, mailoutbox):
    """The answer is held to RESET_RESPONSE_MIN_SECONDS whether an e-mail was sent or not."""
    import time

    settings.RESET_RESPONSE_MIN_SECONDS = 0.3
    took = {}
    for address in (known, "nobody@example.jp"):
        started = time.monotonic()
        assert _ask(client, address, ip="10.0.3.1").status_code == 302
        took[address] = time.monotonic() - started
    assert min(took.values()) >= 0.3
    assert len(mailoutbox) == 1
