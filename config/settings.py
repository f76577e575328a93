"""Settings, read from the environment (see docs/operations.md "Environment")."""

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    """Read a boolean switch: 1/true/yes/on are true."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
TESTING = env_bool("DJANGO_TESTING")
_DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = _DEV_SECRET_KEY
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "csp",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served by the app: /api/docs/ works on a closed network
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp_webauthn",
    "axes",
    # The transactional outbox behind core.dispatch (work after commit survives a broker outage).
    "core.outbox",
    "operations",
    "audit",
    "reserves",
    "claims",
    # After every app that declares permissions: its post_migrate handler gives the role groups theirs.
    "accounts",
    # Management commands only (`bench`, `demo_load`); no app imports them.
    "benchmarks",
    "demo",
]

MIDDLEWARE = [
    # First: /healthz, /readyz and /metrics answer before host checks, sessions and sign-in (docs/operations.md).
    "operations.middleware.ProbeMiddleware",
    # Every other request gets its id (kept from a sane X-Request-ID) for its audit events, and is counted for
    # /metrics and logged once (JSON, with that id) — redirects, static files and refusals further down included.
    "audit.middleware.RequestContextMiddleware",
    "operations.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from the WSGI process (gunicorn), compressed and cached; no web server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # 413 for a body over REQUEST_MAX_BYTES, 400 for NUL or lone surrogates in the path, query or form.
    "core.http.RequestBoundaryMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # A session whose user's roles changed since sign-in ends here.
    "accounts.signals.RoleChangeLogoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Staff sessions end after STAFF_SESSION_IDLE_SECONDS without a request.
    "accounts.idle.StaffIdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy on every answer (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "audit.middleware.RegulatorViewLogMiddleware",
    # Staff and admins reach nothing but the second-factor pages until verified.
    "accounts.second_factor.SecondFactorRequiredMiddleware",
    "core.http.NotFoundPageMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "core.roles.role_context",
            ],
            # Number formats every template uses (quantity), without {% load %}.
            "builtins": ["core.template_filters"],
        },
    },
]

# --- Database -----------------------------------------------------------------
# DATABASE_URL selects PostgreSQL (production profile); without it SQLite (embedded).
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # Health checks: a connection the server dropped (a PostgreSQL restart) is replaced on the next request
    # or task instead of failing it.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    # Behind PgBouncer in transaction mode (docs/operations.md, "Topology"): a server connection belongs to a
    # client only for one transaction, so no server-side cursors (they outlive it) and no prepared statements
    # (psycopg prepares a query run 5 times, on a connection the next transaction may not get).
    if os.environ.get("DATABASE_POOL_MODE", "") == "transaction":
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
    # The planner's price of reading a page at random, for this site's connections (docs/decisions/0024): the
    # server's default (4) is for disks and makes the bulk work's lookups by key scan whole tables. A startup
    # option, which PgBouncer refuses: behind it the server's setting applies (empty here: the server's too).
    elif random_page_cost := os.environ.get("DATABASE_RANDOM_PAGE_COST", "1.1"):
        if not re.fullmatch(r"\d+(\.\d+)?", random_page_cost):
            raise ImproperlyConfigured("DATABASE_RANDOM_PAGE_COST is a decimal number, such as 1.1, or empty")
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = f"-c random_page_cost={random_page_cost}"
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "db.sqlite3"),
            # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead
            # of failing with "database is locked" when a reader upgrades.
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache and Celery ----------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A Redis that cannot be reached fails fast instead of holding a request.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Per process, never shared: figures many readers ask for within a second (core.read_cache).
CACHES["local"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "read-cache"}
# How old the regulator's incident summary may be (seconds; 0: computed for every read). Each read is still audited.
REGULATOR_SUMMARY_CACHE_SECONDS = int(os.environ.get("REGULATOR_SUMMARY_CACHE_SECONDS", "1"))

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
# Embedded profile: without a broker, tasks run in-process as they are queued.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_TASK_TIME_LIMIT = 600
# Must exceed the longest task, or Redis redelivers a task that is still running.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, float] = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))
}
# How often a worker looks for tasks of dead workers past the visibility timeout (kombu default: ~100 s).
if os.environ.get("CELERY_RESTORE_INTERVAL"):
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        unacked_restore_interval=int(os.environ["CELERY_RESTORE_INTERVAL"]), unacked_restore_throttle=1
    )
CELERY_RESULT_EXPIRES = 3600
# CELERY_QUEUE lets a benchmark or a test start workers on a queue of their own.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "default")
# Follow-up work has a queue of its own, so it never holds up payments: customer emails
# (invitations, decisions, "paid"), marking claims paid after reserves paid them, and
# signing the payout receipts.
# `make run` starts one worker on both queues; production runs follow-up workers apart (docs/operations.md).
CELERY_FOLLOWUP_QUEUE = os.environ.get("CELERY_FOLLOWUP_QUEUE", "followup")
CELERY_FOLLOWUP_TASKS = (
    "claims.invitations_dispatch",
    "claims.invitations_send",
    "claims.claim_notify",
    "claims.notify_many",
    "claims.paid_sync",
    "claims.payouts_hand_off_sweep",
    "reserves.payout_receipts_issue",
    "reserves.payout_receipts_sweep",
)
CELERY_TASK_ROUTES = {name: {"queue": CELERY_FOLLOWUP_QUEUE} for name in CELERY_FOLLOWUP_TASKS}
# A broker that cannot be reached fails a connection attempt within this many seconds (no 20 s hangs).
CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"] = float(os.environ.get("BROKER_CONNECT_TIMEOUT", "2"))
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"]
# The transactional outbox (core/outbox): the relay's interval, rows per transaction, days sent rows are kept.
OUTBOX_RELAY_SECONDS = float(os.environ.get("OUTBOX_RELAY_SECONDS", "5"))
OUTBOX_RELAY_BATCH_SIZE = int(os.environ.get("OUTBOX_RELAY_BATCH_SIZE", "500"))
OUTBOX_KEEP_DAYS = float(os.environ.get("OUTBOX_KEEP_DAYS", "7"))
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict = {
    # Work after commit the broker did not take at the time (it was down): core/outbox.
    "core-outbox-relay": {"task": "core.outbox_relay", "schedule": OUTBOX_RELAY_SECONDS},
    "audit-chain-verify": {"task": "audit.chain_verify", "schedule": 3600.0},
    "reserves-payouts-sweep": {"task": "reserves.payouts_sweep", "schedule": 60.0},
    "reserves-recoveries-follow-up": {"task": "reserves.recoveries_follow_up", "schedule": 3600.0},
    "reserves-ledger-reconcile": {"task": "reserves.ledger_reconcile", "schedule": 3600.0},
    # Approved claims a lost hand-off message left behind, and claims paid but not yet marked paid.
    "claims-payouts-hand-off-sweep": {"task": "claims.payouts_hand_off_sweep", "schedule": 300.0},
    # Paid payouts still without a signed receipt (a lost message, or no signing key at the time).
    "reserves-payout-receipts-sweep": {"task": "reserves.payout_receipts_sweep", "schedule": 300.0},
    # Appeal windows that passed: what those claims held back beyond their decision goes to everyone.
    "claims-appeal-windows-close": {"task": "claims.appeal_windows_close", "schedule": 3600.0},
}

# --- Auth -------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out username/IP before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    # Usernames (customers' e-mail addresses) without case (accounts/backends.py).
    "accounts.backends.CaseInsensitiveModelBackend",
]
# Failed-login throttling: 5 failures for a username from one address lock it for an hour.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "1"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Requests for a reset or activation link (accounts/throttle.py): per address and per client, per window.
RESET_REQUESTS_PER_ADDRESS = int(os.environ.get("RESET_REQUESTS_PER_ADDRESS", "3"))
RESET_REQUESTS_PER_CLIENT = int(os.environ.get("RESET_REQUESTS_PER_CLIENT", "20"))
RESET_THROTTLE_WINDOW_SECONDS = int(os.environ.get("RESET_THROTTLE_WINDOW_SECONDS", "3600"))
# Every answer to a link request takes at least this long, known address (an e-mail sent) or not.
RESET_RESPONSE_MIN_SECONDS = float(os.environ.get("RESET_RESPONSE_MIN_SECONDS", "0.5"))
# Failures count per username whatever its case (Alice@… and alice@… are one address).
AXES_USERNAME_CALLABLE = "accounts.backends.axes_username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# TOTP second factor (django-otp) for staff (reviewers, approvers, admins).
# API tokens of staff expire after this many hours (customers' tokens do not).
STAFF_TOKEN_HOURS = float(os.environ.get("STAFF_TOKEN_HOURS", "8"))
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "Breach compensation")
# Nobody, admins included, reads another person's TOTP secret or its QR code in the Django admin (403).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "claims:home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True

# --- HTTPS (docs/operations.md "Production settings"): on by default when DEBUG is off -----------------
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
# The TLS-terminating proxy in front says the original scheme in this header; empty: no proxy is trusted.
_PROXY_SSL_HEADER = os.environ.get("SECURE_PROXY_SSL_HEADER", "" if DEBUG else "X-Forwarded-Proto")
if _PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https")

# --- Content-Security-Policy (django-csp): only this site's own scripts, styles and connections ---------
# No inline scripts, styles or style attributes anywhere: pages use static/js/app.js and CSS classes. Charts are
# SVG drawn on the server; images may be data: URIs (QR codes of TOTP enrolment, Swagger UI's icons).
_CSP_SELF, _CSP_NONE = "'self'", "'none'"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_CSP_SELF],
        "script-src": [_CSP_SELF],
        "style-src": [_CSP_SELF],
        "img-src": [_CSP_SELF, "data:"],
        "font-src": [_CSP_SELF],
        "connect-src": [_CSP_SELF],
        "object-src": [_CSP_NONE],
        "base-uri": [_CSP_SELF],
        "form-action": [_CSP_SELF],
        "frame-ancestors": [_CSP_NONE],
    }
}

# --- Staff sessions ---------------------------------------------------------------------
# A staff member's session (reviewer, approver, admin, regulator) ends after this long without a request.
STAFF_SESSION_IDLE_SECONDS = int(os.environ.get("STAFF_SESSION_IDLE_SECONDS", "1800"))

# --- REST API ---------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: DRF names the first class in WWW-Authenticate, so an anonymous call is 401 (with
    # `WWW-Authenticate: Token`), not 403. A request sends one or the other; the order changes nothing else.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF tokens; a staff token expires and must be bound to a second factor (accounts/tokens.py).
        "accounts.authentication.StaffTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # JSON numbers become Decimal (never float); NaN, out-of-range numbers, NUL, lone surrogates and deep nesting
    # are a 400 naming the field, a body over DATA_UPLOAD_MAX_MEMORY_SIZE a 413 (core/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.ExactJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Every operation documents every error status it can answer (core/schema.py).
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
}
API_DESCRIPTION = """Claims, payouts and the audit trail after a crypto-asset exchange breach.

## Signing in

**With a token** (scripts, this page's *Authorize* button):

1. `POST /api/auth/token/` with JSON `{"username": "...", "password": "..."}`; approvers and admins
   add `"otp_token": "123456"`, the current code of their TOTP app.
2. The answer is `{"token": "..."}`. Send it on every call as the header
   `Authorization: Token <token>`.
3. Here: press **Authorize**, and under *tokenAuth* enter `Token <token>` (the word `Token`, a space,
   then the token).
4. Approving (a claim or a batch) also needs `otp_token` in the request body: a token alone is not a
   second factor.

**With the browser session**: sign in at `/login/` in this browser (approvers and admins pass
`/account/two-factor/`), then come back: read calls work as you. Calls that change something also
need the `X-CSRFToken` header with the value of the `csrftoken` cookie.

A customer calling a staff operation gets 403; another customer's data is 404; without signing in
401/403 `not_authenticated`. Errors have one shape: `{"error", "detail", "fields"}`.
"""
SPECTACULAR_SETTINGS = {
    "TITLE": "Breach compensation claims API",
    "DESCRIPTION": API_DESCRIPTION,
    # Swagger UI and ReDoc from the app's own static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "displayOperationId": False, "tryItOutEnabled": False},
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "claims.models.Incident.Status",
        "ClaimStatusEnum": "claims.models.Claim.Status",
        "ClaimBatchStatusEnum": "claims.models.ClaimBatch.Status",
    },
}

# --- i18n -------------------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
# Dates in each language's own way (templates use date:"SHORT_DATETIME_FORMAT" / "SHORT_DATE_FORMAT").
FORMAT_MODULE_PATH = ["config.formats"]
USE_I18N = True
USE_TZ = True

# --- Files, static and email ---------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# WhiteNoise serves STATIC_ROOT (`collectstatic`); in development and tests it finds files in the apps directly.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
# The one file store every machine shares (core/storage.py, docs/operations.md "Files"): uploaded evidence,
# the rails' bank files and wallet batches, stored reports. Outside the web root, served only through views.
# FILE_STORAGE=local (default): PRIVATE_STORAGE_DIR, a directory several machines must share as a mount;
# FILE_STORAGE=s3: an S3-compatible bucket through django-storages (pip install "django-storages[s3]").
PRIVATE_STORAGE_DIR = Path(os.environ.get("PRIVATE_STORAGE_DIR", VAR_DIR / "private"))
FILE_STORAGE = os.environ.get("FILE_STORAGE", "local")
if FILE_STORAGE == "s3":
    _FILES: dict = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ.get("FILE_STORAGE_BUCKET", ""),
            "endpoint_url": os.environ.get("FILE_STORAGE_ENDPOINT_URL") or None,
            "region_name": os.environ.get("FILE_STORAGE_REGION") or None,
            "location": os.environ.get("FILE_STORAGE_PREFIX", ""),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": True,
            "server_side_encryption": os.environ.get("FILE_STORAGE_SSE", "AES256") or None,
        },
    }
    if not _FILES["OPTIONS"]["bucket_name"]:
        raise ImproperlyConfigured("FILE_STORAGE=s3 needs FILE_STORAGE_BUCKET.")
elif FILE_STORAGE == "local":
    _FILES = {"BACKEND": "core.storage.AtomicFileSystemStorage", "OPTIONS": {"location": str(PRIVATE_STORAGE_DIR)}}
else:
    raise ImproperlyConfigured("FILE_STORAGE is local or s3.")
STORAGES = {
    "default": _FILES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# A JSON or form body larger than this is refused (413); files are limited by REQUEST_MAX_BYTES alone.
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
# No request body larger than this is read at all (413): room for a snapshot CSV of a large exchange.
REQUEST_MAX_BYTES = int(os.environ.get("REQUEST_MAX_BYTES", str(128 * 1024 * 1024)))
# Receipts and reports in PDF embed the Japanese glyphs they use from this TrueType font (Debian's
# fonts-ipafont-gothic by default); if the file is missing they name a standard Japanese font instead, which
# the reader's PDF viewer must supply (core/reports.py japanese_font).
PDF_JAPANESE_FONT_FILE = os.environ.get("PDF_JAPANESE_FONT_FILE", "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf")

EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
else:
    # EMAIL_FILE_PATH (what `make run` sets): each e-mail a file in that directory; else printed to the console.
    EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", "")
    EMAIL_BACKEND = (
        "django.core.mail.backends.filebased.EmailBackend"
        if EMAIL_FILE_PATH
        else "django.core.mail.backends.console.EmailBackend"
    )
# A benchmark's workers hand e-mails to an in-memory backend of its own (benchmarks/mail.py).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or EMAIL_BACKEND
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "claims@example.com")

# Structured logs (config/logging.py): JSON lines carrying the audit trail's request or task id.
# JSON in production; the demo (DEBUG=1, `make run`) prints the same records for people unless told otherwise.
LOGGING = logging_config(
    level=os.environ.get("LOG_LEVEL", "INFO"), fmt=os.environ.get("LOG_FORMAT", "console" if DEBUG else "json")
)
# Celery workers log through the same configuration instead of replacing the root logger's handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Who may read /metrics: addresses or networks, comma-separated (loopback by default).
METRICS_ALLOWED_ADDRESSES = env_list("METRICS_ALLOWED_ADDRESSES", "127.0.0.1,::1")

# --- Domain settings -------------------------------------------------------------------
# Absolute base of links in emails (activation, claim pages).
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Passkeys (django-otp-webauthn) as a customer's second factor. They need HTTPS and a domain (browsers refuse IP
# addresses); over plain HTTP only http://localhost works, so a demo uses passkeys at http://localhost:<port>.
_PUBLIC = urlsplit(PUBLIC_BASE_URL)
_SECURE = _PUBLIC.scheme == "https"
OTP_WEBAUTHN_RP_ID = os.environ.get("OTP_WEBAUTHN_RP_ID", _PUBLIC.hostname if _SECURE else "localhost")
OTP_WEBAUTHN_RP_NAME = os.environ.get("OTP_WEBAUTHN_RP_NAME", "Breach compensation")
OTP_WEBAUTHN_ALLOWED_ORIGINS = env_list("OTP_WEBAUTHN_ALLOWED_ORIGINS") or [
    PUBLIC_BASE_URL if _SECURE else f"http://localhost:{_PUBLIC.port or 80}"
]
# Passkeys are a second factor here, never a login of their own.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
# How recently a passkey must have been used to confirm a change of payout details (seconds).
PASSKEY_REAUTH_SECONDS = int(os.environ.get("PASSKEY_REAUTH_SECONDS", "600"))
# A claim whose approved amount is above this (int yen) needs two distinct approvers.
CLAIM_SECOND_APPROVER_THRESHOLD_JPY = int(os.environ.get("CLAIM_SECOND_APPROVER_THRESHOLD_JPY", "10000000"))
# A decision that cuts a claim (or rejects it) can be appealed for this many days; until then what the claim asked
# for stays held back in the interim rates (docs/money.md, "The holdback").
CLAIM_APPEAL_DAYS = int(os.environ.get("CLAIM_APPEAL_DAYS", "30"))
# Activation links in invitation emails stay valid this long and work once.
ACTIVATION_TOKEN_DAYS = int(os.environ.get("ACTIVATION_TOKEN_DAYS", "14"))
# Invitations are emailed in batches of this many per task (SKIP LOCKED, so workers share the work).
INVITATION_BATCH_SIZE = int(os.environ.get("INVITATION_BATCH_SIZE", "500"))
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
# A snapshot import stops collecting line errors after this many (it still counts them).
SNAPSHOT_MAX_REPORTED_ERRORS = 1000

# --- Audit signing and checkpoints (docs/audit.md "Signed checkpoints") ---------------------------
# The Ed25519 private key that signs checkpoints and receipts: PEM text, or a path to a PEM file.
AUDIT_SIGNING_KEY = os.environ.get("AUDIT_SIGNING_KEY", "")
AUDIT_SIGNING_KEY_FILE = os.environ.get("AUDIT_SIGNING_KEY_FILE", "")
# Every request of a regulator is written to the trail (regulator.viewed), and so is every signed-in
# request under these paths (an admin reading the regulator portal).
AUDIT_LOGGED_PATH_PREFIXES = ("/regulator/", "/api/regulator/")
AUDIT_CHECKPOINT_INTERVAL = float(os.environ.get("AUDIT_CHECKPOINT_INTERVAL", "900"))
# The log's name: the first line of every checkpoint and the name of the log key in signed notes
# (docs/audit-format.md). Set it once for a deployment and never change it: witnesses remember it.
AUDIT_LOG_ORIGIN = os.environ.get(
    "AUDIT_LOG_ORIGIN", PUBLIC_BASE_URL.split("://", 1)[-1].rstrip("/").replace("+", "-") + "/audit"
)
# Regulators' reads are staged (one INSERT each, no lock) and appended to the log by a drain queued at most
# once per this many seconds; the beat entry catches a lost run.
AUDIT_STAGED_DRAIN_SECONDS = float(os.environ.get("AUDIT_STAGED_DRAIN_SECONDS", "1"))
CELERY_BEAT_SCHEDULE["audit-staged-events-drain"] = {"task": "audit.staged_events_drain", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["audit-checkpoint-sign"] = {
    "task": "audit.checkpoint_sign",
    "schedule": AUDIT_CHECKPOINT_INTERVAL,
}
# Functions (*, start, end) -> list[core.reports.Section] that make up the quarterly report.
# Whether two logins (user ids) are one person: reserves asks it for the reserve funding's maker and checker
# without importing the accounts app, which keeps the people.
SAME_PERSON = "accounts.people.same_person"
QUARTERLY_REPORT_SECTIONS = [
    "claims.selectors.regulator.claims_report_sections",
    "reserves.selectors.report.reserve_report_sections",
    "audit.reports.audit_sections",
]
# --- Reserves and payouts (docs/money.md "Reserve", "Payout workflow", "Payment rails") ----------
# Required minimum of the liability reserve: a floor plus a percentage of customer assets in custody.
RESERVE_MINIMUM_FLOOR_JPY = int(os.environ.get("RESERVE_MINIMUM_FLOOR_JPY", "2000000000"))
RESERVE_MINIMUM_CUSTODY_PERCENT = os.environ.get("RESERVE_MINIMUM_CUSTODY_PERCENT", "0")  # a decimal string
# Allocation and disbursement: entitlements per chunk (one transaction each) and parallel chunk tasks.
PAYOUT_CHUNK_SIZE = int(os.environ.get("PAYOUT_CHUNK_SIZE", "2000"))
PAYOUT_PARALLEL_TASKS = int(os.environ.get("PAYOUT_PARALLEL_TASKS", "2"))
# Allocation rounds asked for within this many seconds of each other (single approvals) make one round; 0: none.
ALLOCATION_COALESCE_SECONDS = float(os.environ.get("ALLOCATION_COALESCE_SECONDS", "2"))
# A payout is `failed` after this many failed attempts; between attempts the wait doubles.
PAYOUT_MAX_ATTEMPTS = int(os.environ.get("PAYOUT_MAX_ATTEMPTS", "5"))
PAYOUT_RETRY_BASE_SECONDS = float(os.environ.get("PAYOUT_RETRY_BASE_SECONDS", "30"))
PAYOUT_RETRY_MAX_SECONDS = float(os.environ.get("PAYOUT_RETRY_MAX_SECONDS", "3600"))
# A sender leases the payouts it sends; a sender that dies loses its lease after this long.
PAYOUT_LEASE_SECONDS = int(os.environ.get("PAYOUT_LEASE_SECONDS", "120"))
# Rail for bank payees: "sandbox" (default) or "zengin" (bulk-transfer files).
PAYOUT_BANK_RAIL = os.environ.get("PAYOUT_BANK_RAIL", "sandbox")
SANDBOX_RAIL_FAILURE_RATE = float(os.environ.get("SANDBOX_RAIL_FAILURE_RATE", "0"))
SANDBOX_RAIL_LATENCY_MS = int(os.environ.get("SANDBOX_RAIL_LATENCY_MS", "0"))
SANDBOX_RAIL_SEED = os.environ.get("SANDBOX_RAIL_SEED", "sandbox")
# In-kind payees: "sandbox" (default) or "wallet" (signed withdrawal batches for the wallet system).
PAYOUT_CRYPTO_RAIL = os.environ.get("PAYOUT_CRYPTO_RAIL", "sandbox")
# Folder of the file store the wallet batches are written to (the wallet system reads them there).
WALLET_OUTBOX = "wallet"
# The exchange core system (exchange-account rail, docs/rails.md); unset: exchange payees use the sandbox.
EXCHANGE_CORE_URL = os.environ.get("EXCHANGE_CORE_URL", "")
EXCHANGE_CORE_KEY_ID = os.environ.get("EXCHANGE_CORE_KEY_ID", "claims")
EXCHANGE_CORE_SECRET = os.environ.get("EXCHANGE_CORE_SECRET", "")
EXCHANGE_CORE_TIMEOUT_SECONDS = float(os.environ.get("EXCHANGE_CORE_TIMEOUT_SECONDS", "5"))
EXCHANGE_CORE_PARALLEL = int(os.environ.get("EXCHANGE_CORE_PARALLEL", "4"))
# Changed payout details wait this long before a payout may use them (hours).
PAYOUT_DETAILS_COOLING_OFF_HOURS = float(os.environ.get("PAYOUT_DETAILS_COOLING_OFF_HOURS", "72"))
# Returned or undeliverable payouts become unclaimed (held for deposit, 供託) after this many days.
UNCLAIMED_AFTER_DAYS = float(os.environ.get("UNCLAIMED_AFTER_DAYS", "90"))
# Customers who have not chosen a payout method are reminded this many days before the election deadline.
ELECTION_REMINDER_DAYS = float(os.environ.get("ELECTION_REMINDER_DAYS", "7"))
CELERY_BEAT_SCHEDULE["claims-elections-follow-up"] = {"task": "claims.elections_follow_up", "schedule": 3600.0}
CELERY_BEAT_SCHEDULE["claims-payout-corrections-apply"] = {
    "task": "claims.payout_corrections_apply",
    "schedule": 300.0,
}
CELERY_BEAT_SCHEDULE["reserves-unclaimed-sweep"] = {"task": "reserves.unclaimed_sweep", "schedule": 3600.0}
# Folder of the file store the Zengin files are written to (the bank's uploader reads them there).
ZENGIN_OUTBOX = "zengin"
ZENGIN_REQUESTER_CODE = os.environ.get("ZENGIN_REQUESTER_CODE", "0000000001")
ZENGIN_REQUESTER_NAME = os.environ.get("ZENGIN_REQUESTER_NAME", "ｶ)ﾃﾞﾓｺｳｶﾝｼﾖ")
ZENGIN_BANK_CODE = os.environ.get("ZENGIN_BANK_CODE", "0001")
ZENGIN_BRANCH_CODE = os.environ.get("ZENGIN_BRANCH_CODE", "001")
ZENGIN_ACCOUNT_TYPE = os.environ.get("ZENGIN_ACCOUNT_TYPE", "1")
ZENGIN_ACCOUNT_NUMBER = os.environ.get("ZENGIN_ACCOUNT_NUMBER", "1234567")
# Insurer recovery deadlines, counted from the incident's detection, and the warning window.
RECOVERY_NOTICE_DAYS = int(os.environ.get("RECOVERY_NOTICE_DAYS", "30"))
RECOVERY_PROOF_MONTHS = int(os.environ.get("RECOVERY_PROOF_MONTHS", "6"))
RECOVERY_WARN_DAYS = int(os.environ.get("RECOVERY_WARN_DAYS", "7"))
