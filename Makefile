# The two commands: `make run` (demo server) and `make test` (the whole suite); `make test-fast` while working.
# See README.md and docs/testing.md.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# make test talks to the machine's PostgreSQL and Redis unless told otherwise;
# `DATABASE_URL= REDIS_URL= make test` runs on SQLite with eager tasks (PostgreSQL-only tests skip).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
# The suite runs in this many processes (pytest-xdist), each with its own test database, Redis database and
# queue; tests wait on workers, servers and browsers much of the time. TEST_PROCESSES=0 runs it in one.
TEST_PROCESSES ?= 2
PYTEST_PARALLEL = $(if $(filter 0,$(TEST_PROCESSES)),,-n $(TEST_PROCESSES) --dist loadfile)

.PHONY: run test test-fast check install test-deps chromium lint format bench-snapshot bench-payouts restore-drill clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-deps: requirements-dev.txt $(VENV)/.deps
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.deps
test-deps: $(VENV)/.test-deps

# Browser tests drive Debian's Chromium; Playwright's own browser download is not used.
# A Japanese font, so screenshots of the (Japanese by default) pages show text, not boxes; GNU gettext,
# so the translations test can run makemessages.
chromium:
	@if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/ipafont-gothic ] || [ ! -x /usr/bin/xgettext ]; then
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo)
	  $$sudo apt-get update -qq
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium fonts-ipafont-gothic gettext >/dev/null
	fi

run: install
	@export DEBUG="$${DEBUG:-1}"
	mkdir -p var
	# Links in e-mails (invitations, activation) point at this server, on the port it really listens on.
	url_host=$$([ "$(HOST)" = 0.0.0.0 ] && echo 127.0.0.1 || echo "$(HOST)")
	export PUBLIC_BASE_URL="$${PUBLIC_BASE_URL:-http://$$url_host:$(PORT)}"
	# The demo log keeps one name whatever the port, so an existing var/ database still verifies.
	export AUDIT_LOG_ORIGIN="$${AUDIT_LOG_ORIGIN:-127.0.0.1:8000/audit}"
	# Without an SMTP server, e-mails are files in var/mail/ (not hundreds of lines on the console).
	if [ -z "$${EMAIL_HOST:-}" ]; then export EMAIL_FILE_PATH="$${EMAIL_FILE_PATH:-$$PWD/var/mail}"; fi
	$(BIN)/python manage.py migrate --noinput --verbosity 0 && echo "Database migrated."
	if [ -z "$${AUDIT_SIGNING_KEY:-}" ] && [ -z "$${AUDIT_SIGNING_KEY_FILE:-}" ]; then
	  # Demo only: a key generated on this machine. Production sets AUDIT_SIGNING_KEY(_FILE).
	  export AUDIT_SIGNING_KEY_FILE="$$PWD/var/audit-signing-key.pem"
	  [ -f "$$AUDIT_SIGNING_KEY_FILE" ] || $(BIN)/python manage.py audit_keygen "$$AUDIT_SIGNING_KEY_FILE"
	fi
	if [ -z "$${EXCHANGE_CORE_URL:-}" ]; then
	  # Demo only: the exchange core reference server (reference_servers/exchange_core.py) as its own process.
	  export EXCHANGE_CORE_URL="http://127.0.0.1:$${EXCHANGE_CORE_PORT:-8765}" EXCHANGE_CORE_SECRET="$${EXCHANGE_CORE_SECRET:-demo-core-secret}"
	  $(BIN)/python -m reference_servers.exchange_core --port "$${EXCHANGE_CORE_PORT:-8765}" --secret "$$EXCHANGE_CORE_SECRET" \
	    --state var/exchange-core.sqlite3 --latency-ms 20 & core=$$!
	  trap 'kill $$core 2>/dev/null || true' EXIT
	  for _ in $$(seq 50); do $(BIN)/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$$EXCHANGE_CORE_URL/v1/health" 2>/dev/null && break; sleep 0.1; done
	fi
	$(BIN)/python manage.py demo_load --url "$$PUBLIC_BASE_URL" --logins-file var/demo-logins.txt
	$(BIN)/python manage.py audit_checkpoint
	$(BIN)/python manage.py audit_verify
	if [ -n "$${REDIS_URL:-}" ]; then
	  echo "Production profile: Celery worker and beat against $${REDIS_URL}"
	  $(BIN)/celery -A config worker -Q "$${CELERY_QUEUE:-default},$${CELERY_FOLLOWUP_QUEUE:-followup}" --loglevel="$${CELERY_LOG_LEVEL:-WARNING}" --concurrency=2 & worker=$$!
	  $(BIN)/celery -A config beat --loglevel="$${CELERY_LOG_LEVEL:-WARNING}" --schedule var/celerybeat-schedule & beat=$$!
	  trap 'kill $$worker $$beat $${core:-} 2>/dev/null || true' EXIT
	else
	  echo "Embedded profile: tasks run in-process"
	fi
	# The logins last, in a box, once the server answers.
	( for _ in $$(seq 150); do $(BIN)/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "http://$$url_host:$(PORT)/login/" 2>/dev/null && break; sleep 0.2; done
	  echo; cat var/demo-logins.txt ) &
	if [ -n "$${DATABASE_URL:-}$${REDIS_URL:-}" ]; then
	  # Production profile: gunicorn (WEB_WORKERS processes x WEB_THREADS threads), static files by WhiteNoise.
	  $(BIN)/python manage.py collectstatic --noinput -v 0
	  echo "Serving with gunicorn on $(HOST):$(PORT) ($${WEB_WORKERS:-2} workers x $${WEB_THREADS:-4} threads)"
	  HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c config/gunicorn_conf.py config.wsgi
	else
	  $(BIN)/python manage.py runserver $(HOST):$(PORT)
	fi

# Lint, format, types, migrations: what every run checks before the tests.
check: test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_TESTING=1 $(BIN)/mypy
	DJANGO_SETTINGS_MODULE=config.test_settings $(BIN)/python manage.py makemigrations --check --dry-run >/dev/null || { echo "missing migrations: run makemigrations"; exit 1; }

test: test-deps chromium check
	@export DATABASE_URL="$${DATABASE_URL-$(TEST_DATABASE_URL)}"
	export REDIS_URL="$${REDIS_URL-$(TEST_REDIS_URL)}"
	$(BIN)/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

# The quick subset while working: no browser, no real worker processes, no benchmarks (see docs/testing.md).
test-fast: test-deps check
	@export DATABASE_URL="$${DATABASE_URL-$(TEST_DATABASE_URL)}"
	export REDIS_URL="$${REDIS_URL-$(TEST_REDIS_URL)}"
	$(BIN)/pytest -m "not slow and not e2e" $(PYTEST_PARALLEL) $(PYTEST_ARGS)

lint: test-deps
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench-snapshot: install
	$(BIN)/python manage.py bench snapshot --rows 1000000

# Needs DATABASE_URL (PostgreSQL, a scratch database: the ledger is append-only) and REDIS_URL.
bench-payouts: install
	$(BIN)/python manage.py bench payouts --claims 100000

# Backup and restore, proven (docs/operations.md "Backup and restore"): dump, restore into a new database,
# audit_verify, the offline verifier against the checkpoints exported before the dump, ledger_reconcile.
# Needs DATABASE_URL (PostgreSQL); SOURCE=postgres://... drills on that database (read only) instead of demo data.
restore-drill: install
	@export DATABASE_URL="$${DATABASE_URL-$(TEST_DATABASE_URL)}"
	$(BIN)/python scripts/restore_drill.py $${SOURCE:+--source "$$SOURCE"}

clean:
	rm -rf var .pytest_cache .ruff_cache
