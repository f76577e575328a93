"""Settings for pytest: the environment's database and Redis, fast hashing, in-memory email."""

import os
import tempfile
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("DJANGO_TESTING", "1")


def _redis_url_for_worker(url: str, worker: str) -> str:
    """The Redis URL of one pytest-xdist worker ("gw0", "gw1", ...): the next databases after the one given.

    `make test` runs the suite in several processes; each has its own test database (pytest-django) and
    its own queue (below), and with this its own Redis database, so a test that clears the cache never
    drops a task another process queued.
    """
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0) + 1 + int(worker.removeprefix("gw") or 0)
    return urlunsplit(parts._replace(path=f"/{number % 16}"))


if os.environ.get("REDIS_URL") and os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["REDIS_URL"] = _redis_url_for_worker(os.environ["REDIS_URL"], os.environ["PYTEST_XDIST_WORKER"])

from config.settings import *  # noqa: E402, F403 (the environment above first)
from config.settings import VAR_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tasks run inline unless a test starts a real worker (tests/conftest.py: celery_worker).
CELERY_TASK_ALWAYS_EAGER = True
# A queue of its own, so a running `make run` worker or another test run never takes our tasks.
CELERY_TASK_DEFAULT_QUEUE = f"test-{os.getpid()}"
CELERY_FOLLOWUP_QUEUE = CELERY_TASK_DEFAULT_QUEUE
CELERY_TASK_ROUTES = {}  # one queue: the test worker takes every task
PRIVATE_STORAGE_DIR = Path(tempfile.mkdtemp(prefix="claims-private-"))  # noqa: F405
STORAGES = {**STORAGES, "default": {**STORAGES["default"], "OPTIONS": {"location": str(PRIVATE_STORAGE_DIR)}}}  # noqa: F405
VAR_DIR.mkdir(parents=True, exist_ok=True)

# A throwaway signing key per test run, so checkpoints and receipts can be signed.
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

AUDIT_SIGNING_KEY = (
    Ed25519PrivateKey.generate()
    .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    .decode("ascii")
)
AUDIT_SIGNING_KEY_FILE = ""
# django-axes needs the request in authenticate(), which the test client's login() does not pass;
# tests of throttling switch it back on with override_settings(AXES_ENABLED=True).
AXES_ENABLED = False
# The test client and the live server speak plain HTTP (the production defaults are tested in
# tests/core/test_production_settings.py with the production environment).
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Every read computes the regulator's figures (tests/claims/test_regulator_incidents.py turns the cache on).
REGULATOR_SUMMARY_CACHE_SECONDS = 0
# Link requests answer at once in tests (tests/accounts/test_link_throttle.py sets a floor to check it).
RESET_RESPONSE_MIN_SECONDS = 0.0
# The test client is one client at one address: the throttle's own tests set the limits they check.
RESET_REQUESTS_PER_ADDRESS = 1000
RESET_REQUESTS_PER_CLIENT = 1000
