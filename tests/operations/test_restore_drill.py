"""`make restore-drill` (scripts/restore_drill.py): dump, restore into a new database, and every check green.

Real pg_dump and pg_restore against the test run's PostgreSQL server, on the demo's small data set, in
databases named uniquely for the run (dropped afterwards).
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def drill(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"AUDIT_SIGNING_KEY", "AUDIT_SIGNING_KEY_FILE"}}
    return subprocess.run(
        [sys.executable, "scripts/restore_drill.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def databases(prefix: str) -> list[str]:
    with psycopg.connect(_with_db("postgres"), autocommit=True) as connection:
        rows = connection.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [prefix + "%"]).fetchall()
    return sorted(row[0] for row in rows)


def _with_db(name: str) -> str:
    from scripts.restore_drill import with_database

    return with_database(os.environ["DATABASE_URL"], name)


def test_the_drill_restores_a_verified_copy_and_fails_on_a_backup_whose_trail_was_altered():
    prefix = f"{os.environ['DATABASE_URL'].rsplit('/', 1)[1]}_drill_t{secrets.token_hex(3)}"
    try:
        result = drill("--prefix", prefix, "--keep")
        assert result.returncode == 0, result.stdout + result.stderr
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert summary["ok"] and summary["restored"] == f"{prefix}_restored"
        assert summary["events"] > 0 and summary["checkpoints_before"] >= 1
        for step in ("dump", "restore", "audit_verify", "ledger_reconcile", "offline_verify"):
            assert step in summary["seconds"]
            assert f"[drill] {step}: ok" in result.stdout
        assert "[drill] checkpoints: ok" in result.stdout
        assert databases(prefix) == [f"{prefix}_restored", f"{prefix}_src"]  # kept, as asked

        # Someone rewrites one event in the source behind the append-only triggers; its backup is then restored.
        with psycopg.connect(_with_db(f"{prefix}_src"), autocommit=True) as connection:
            connection.execute("ALTER TABLE audit_event DISABLE TRIGGER USER")
            connection.execute("UPDATE audit_event SET actor = 'mallory' WHERE seq = 2")
        again = drill("--source", _with_db(f"{prefix}_src"), "--prefix", f"{prefix}_again")
        assert again.returncode == 1, again.stdout
        assert "[drill] FAILED audit_verify" in again.stderr
        assert databases(f"{prefix}_again") == []  # a failed run drops what it created too
    finally:
        with psycopg.connect(_with_db("postgres"), autocommit=True) as connection:
            for name in databases(prefix):
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
