"""The production profile: `check --deploy` is clean with the documented environment, and gunicorn serves the
site with those settings (HTTPS redirect behind a proxy, HSTS, secure cookies, static files by WhiteNoise).

See docs/operations.md "Production settings".
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.servers import free_port

BASE_DIR = Path(__file__).resolve().parent.parent.parent
GUNICORN_PORT = free_port()


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The production environment as docs/operations.md lists it: DEBUG off, a real key, the public host."""
    env = {
        name: value
        for name, value in os.environ.items()
        # DJANGO_ALLOW_ASYNC_UNSAFE: set by the browser tests in this process; check --deploy rightly refuses it.
        if name
        not in {
            "DJANGO_TESTING",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
            "DEBUG",
            "SECURE_COOKIES",
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
        }
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="claims.example.com,127.0.0.1",
        CSRF_TRUSTED_ORIGINS="https://claims.example.com",
        PUBLIC_BASE_URL="https://claims.example.com",
        VAR_DIR=str(tmp_path / "var"),
        **extra,
    )
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_the_production_environment(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_defaults_are_on_when_debug_is_off(tmp_path):
    shown = manage(
        production_env(tmp_path),
        "shell",
        "-c",
        "import json; from django.conf import settings as s; print(json.dumps({n: getattr(s, n, None) for n in ("
        "'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SESSION_COOKIE_SECURE', "
        "'CSRF_COOKIE_SECURE', 'SECURE_PROXY_SSL_HEADER', 'STAFF_SESSION_IDLE_SECONDS')}))",
    )
    assert shown.returncode == 0, shown.stderr
    values = json.loads(shown.stdout.strip().splitlines()[-1])
    assert values == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "STAFF_SESSION_IDLE_SECONDS": 1800,
    }


def test_without_the_production_environment_check_deploy_complains(tmp_path):
    """The check is not vacuous: switching the defaults off (as DEBUG=1 does) brings its warnings back."""
    env = production_env(tmp_path, SECURE_COOKIES="0", SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="0")
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stdout + result.stderr


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers={"Host": "claims.example.com", **headers})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.slow
@pytest.mark.postgres
def test_gunicorn_serves_the_site_and_its_static_files_with_production_settings(transactional_db, tmp_path):
    from django.db import connection

    from benchmarks.workers import database_url_of

    env = production_env(tmp_path, DATABASE_URL=database_url_of(connection), REDIS_URL="")
    env.update(HOST="127.0.0.1", PORT=str(GUNICORN_PORT), WEB_WORKERS="1", WEB_THREADS="2")
    collected = manage(env, "collectstatic", "--noinput", "-v", "0")
    assert collected.returncode == 0, collected.stderr
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn_conf.py", "config.wsgi"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", GUNICORN_PORT), timeout=0.5).close()
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.2)
        base = f"http://127.0.0.1:{GUNICORN_PORT}"
        # Plain HTTP is sent to HTTPS ...
        status, headers, _ = _get(f"{base}/login/")
        assert status == 301 and headers["Location"] == "https://claims.example.com/login/"
        # ... and behind the TLS proxy the page is served with HSTS, the CSP and a secure CSRF cookie.
        status, headers, body = _get(f"{base}/login/", **{"X-Forwarded-Proto": "https"})
        assert status == 200, body[:500]
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        assert "Secure" in headers["Set-Cookie"]
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        # Static files come from WhiteNoise, compressed on request and cached.
        status, headers, body = _get(
            f"{base}/static/css/app.css", **{"X-Forwarded-Proto": "https", "Accept-Encoding": "gzip"}
        )
        assert status == 200 and headers["Content-Type"].startswith("text/css")
        assert "max-age" in headers["Cache-Control"]
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    # Each request is logged once, as JSON with the id its audit events carry (no second, plain-text line).
    lines = [line for line in (tmp_path / "gunicorn.log").read_text().splitlines() if "/login/" in line]
    assert len(lines) == 2, lines
    assert all(json.loads(line)["event"] == "request" and json.loads(line)["request_id"] for line in lines), lines
