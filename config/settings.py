"""Settings, read from the environment (see docs/operations.md "Environment")."""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

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
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp_webauthn",
    "axes",
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
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.middleware.RequestContextMiddleware",
    "audit.middleware.RegulatorViewLogMiddleware",
    # Approvers and admins reach nothing but the second-factor pages until verified.
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
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
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
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

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
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))}
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
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict = {
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
    "django.contrib.auth.backends.ModelBackend",
]
# Failed-login throttling: 5 failures for a username from one address lock it for an hour.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "1"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# TOTP second factor (django-otp) for approvers and admins.
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "Breach compensation")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "claims:home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES")
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES")

# --- REST API ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Breach compensation claims API",
    "DESCRIPTION": "Claims, payouts and the audit trail after a crypto-asset exchange breach.",
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
# Uploaded evidence lives outside the web root and is served only through views.
PRIVATE_STORAGE_DIR = Path(os.environ.get("PRIVATE_STORAGE_DIR", VAR_DIR / "private"))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "claims@example.com")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

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
# Every authenticated request under these paths is itself written to the trail (regulator.viewed).
AUDIT_LOGGED_PATH_PREFIXES = ("/regulator/", "/api/regulator/")
AUDIT_CHECKPOINT_INTERVAL = float(os.environ.get("AUDIT_CHECKPOINT_INTERVAL", "900"))
# The log's name: the first line of every checkpoint and the name of the log key in signed notes
# (docs/audit-format.md). Set it once for a deployment and never change it: witnesses remember it.
AUDIT_LOG_ORIGIN = os.environ.get(
    "AUDIT_LOG_ORIGIN", PUBLIC_BASE_URL.split("://", 1)[-1].rstrip("/").replace("+", "-") + "/audit"
)
CELERY_BEAT_SCHEDULE["audit-checkpoint-sign"] = {
    "task": "audit.checkpoint_sign",
    "schedule": AUDIT_CHECKPOINT_INTERVAL,
}
# Functions (*, start, end) -> list[core.reports.Section] that make up the quarterly report.
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
WALLET_OUTBOX_DIR = Path(os.environ.get("WALLET_OUTBOX_DIR", VAR_DIR / "wallet"))
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
ZENGIN_OUTBOX_DIR = Path(os.environ.get("ZENGIN_OUTBOX_DIR", VAR_DIR / "zengin"))
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
