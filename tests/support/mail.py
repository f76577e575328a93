"""An email backend that fails on the Nth message it is asked to send (for failure tests)."""

from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

FAIL_AT = {"n": 0}
_count = {"n": 0}


def fail_at(n: int) -> None:
    FAIL_AT["n"] = n
    _count["n"] = 0


class FlakyBackend(EmailBackend):
    def send_messages(self, messages):
        for message in messages:
            _count["n"] += 1
            if _count["n"] == FAIL_AT["n"]:
                raise ConnectionError("SMTP connection lost")
            mail.outbox.append(message)
        return len(messages)
