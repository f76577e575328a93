"""The benchmarks' counting mail backend: every message built and counted, once per connection."""

import uuid

import pytest
from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from benchmarks.mail import _redis, mail_count


@pytest.fixture
def counter(monkeypatch):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL (make test does)")
    name = f"test:mails:{uuid.uuid4().hex}"
    monkeypatch.setenv("BENCH_MAIL_COUNTER", name)
    yield name
    _redis().delete(name)


def _message(n: int) -> EmailMessage:
    return EmailMessage(f"Subject {n}", "Body", "from@example.com", [f"to{n}@example.com"])


def test_an_open_connection_counts_its_messages_when_it_closes(counter):
    with get_connection("benchmarks.mail.CountingBackend") as mailer:
        for n in range(3):
            assert mailer.send_messages([_message(n)]) == 1
        assert mail_count(counter) == 0  # one Redis call for the connection, not one per message
    assert mail_count(counter) == 3


def test_a_send_without_an_open_connection_counts_at_once(counter):
    mailer = get_connection("benchmarks.mail.CountingBackend")
    assert mailer.send_messages([_message(1), _message(2)]) == 2
    assert mail_count(counter) == 2


def test_a_message_that_cannot_be_built_is_not_counted(counter):
    broken = EmailMessage("Subject\nInjected: header", "Body", "from@example.com", ["to@example.com"])
    with pytest.raises(ValueError), get_connection("benchmarks.mail.CountingBackend") as mailer:
        mailer.send_messages([_message(1), broken])
    assert mail_count(counter) == 0
