#!/usr/bin/env python3
"""The restore drill: back up, restore into a new database, and prove the copy is the books and the trail.

    python scripts/restore_drill.py [--source DATABASE_URL] [--prefix NAME] [--keep] [--workdir DIR]

Against the PostgreSQL server of DATABASE_URL (docs/operations.md, "Backup and restore"):

1. the source: the database given by --source (read only: exported and dumped, never written), or, without it,
   a new scratch database `<prefix>_src` migrated and loaded with the demo's small data set (claims in every
   state, four payouts, a signed checkpoint);
2. `audit_export` of the source into WORKDIR/before/ - the signed checkpoints as they were before the dump;
3. `pg_dump --format=custom` of the source;
4. `pg_restore` into a new database `<prefix>_restored`;
5. on the restored database: `migrate --check` (nothing to apply), `audit_verify` (tree, tiles, head and every
   checkpoint recomputed from the events), `ledger_reconcile` (every balance, the zero sum, each incident),
   `audit_export` into WORKDIR/after/ and the offline verifier on it with the key exported before the dump
   (--trusted-key, --strict), and every checkpoint exported before the dump found, byte for byte, among the
   restored ones (so the restored events give the roots signed before the dump);
6. one JSON line with each step's seconds; the databases this run created are dropped unless --keep.

Database names are unique per run (`<database>_drill_<random>` unless --prefix says otherwise). Exit 0 when every
check is green, 1 naming the step that failed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


class DrillFailed(Exception):
    pass


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def database_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def admin_sql(url: str, statement: str) -> None:
    """Run CREATE/DROP DATABASE through the server's maintenance database."""
    import psycopg

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as connection:
        connection.execute(statement)


class Drill:
    def __init__(self, *, server_url: str, prefix: str, workdir: Path, python: str) -> None:
        self.server_url = server_url
        self.prefix = prefix
        self.workdir = workdir
        self.python = python
        self.timings: dict[str, float] = {}
        self.created: list[str] = []
        self.env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
        # Tasks in-process: the drill needs no broker and must not feed anyone's workers.
        self.env.setdefault("SECRET_KEY", "restore-drill-" + secrets.token_hex(8))
        self.env["LOG_FORMAT"] = "console"

    def step(self, name: str, command: list[str], *, database: str | None = None, **env: str) -> str:
        started = time.monotonic()
        run_env = {**self.env, **env}
        if database is not None:
            run_env["DATABASE_URL"] = with_database(self.server_url, database)
        # Our own fixed commands (manage.py, pg_dump, pg_restore) with database names this run made.
        result = subprocess.run(command, cwd=ROOT, env=run_env, capture_output=True, text=True, check=False)  # noqa: S603
        self.timings[name] = round(self.timings.get(name, 0) + time.monotonic() - started, 2)
        if result.returncode != 0:
            raise DrillFailed(f"{name}: exit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
        print(f"[drill] {name}: ok {result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ''}")
        return result.stdout

    def manage(self, name: str, *args: str, database: str, **env: str) -> str:
        return self.step(name, [self.python, "manage.py", *args], database=database, **env)

    def create(self, name: str) -> None:
        admin_sql(self.server_url, f'CREATE DATABASE "{name}"')
        self.created.append(name)

    def drop_created(self) -> None:
        for name in reversed(self.created):
            admin_sql(self.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def source_prepare(self) -> str:
        """A scratch database with the demo's data set and a signed checkpoint."""
        source = f"{self.prefix}_src"
        self.create(source)
        self.manage("source_migrate", "migrate", "--noinput", database=source)
        self.manage("source_load", "demo_load", "--force", database=source)
        self.manage("source_checkpoint", "audit_checkpoint", database=source)
        return source

    def run(self, *, source_url: str | None) -> dict:
        key = self.workdir / "signing-key.pem"
        if not (self.env.get("AUDIT_SIGNING_KEY") or self.env.get("AUDIT_SIGNING_KEY_FILE")):
            # A key of the drill's own for its scratch source (a real drill uses the deployment's key).
            self.step("keygen", [self.python, "manage.py", "audit_keygen", str(key)], database=None)
            self.env["AUDIT_SIGNING_KEY_FILE"] = str(key)
        if source_url:
            source = database_of(source_url)
            self.server_url = source_url
        else:
            source = self.source_prepare()
        before, after, dump = self.workdir / "before", self.workdir / "after", self.workdir / "claims.dump"
        self.manage("export_before", "audit_export", str(before), database=source)
        self.step("dump", ["pg_dump", "--format=custom", "--no-owner", "--file", str(dump), self.url(source)])
        restored = f"{self.prefix}_restored"
        self.create(restored)
        self.step("restore", ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", self.url(restored), str(dump)])
        self.manage("migrations_applied", "migrate", "--check", "--noinput", database=restored)
        self.manage("audit_verify", "audit_verify", database=restored)
        self.manage("ledger_reconcile", "ledger_reconcile", database=restored)
        self.manage("export_after", "audit_export", str(after), database=restored)
        self.step(
            "offline_verify",
            [
                self.python,
                "audit/offline_verify.py",
                str(after),
                "--trusted-key",
                str(before / "public_key.pem"),
                "--strict",
            ],
        )
        self.checkpoints_kept(before, after)
        return {
            "drill": "restore",
            "source": source,
            "restored": restored,
            "dump_bytes": dump.stat().st_size,
            "events": sum(1 for _ in (after / "events.jsonl").open("rb")),
            "checkpoints_before": len(self.checkpoint_lines(before)),
            "seconds": self.timings,
            "ok": True,
        }

    def url(self, database: str) -> str:
        return with_database(self.server_url, database)

    @staticmethod
    def checkpoint_lines(directory: Path) -> set[bytes]:
        return {line for line in (directory / "checkpoints.jsonl").read_bytes().splitlines() if line.strip()}

    def checkpoints_kept(self, before: Path, after: Path) -> None:
        """Every checkpoint signed before the dump is among the restored trail's, which the verifier checked."""
        signed_before = self.checkpoint_lines(before)
        if not signed_before:
            raise DrillFailed("checkpoints: the source had no signed checkpoint to check the restore against")
        missing = signed_before - self.checkpoint_lines(after)
        if missing:
            raise DrillFailed(f"checkpoints: {len(missing)} signed before the dump are not in the restored trail")
        print(f"[drill] checkpoints: ok {len(signed_before)} signed before the dump, all in the restored trail")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--source", help="drill on this database (read only) instead of a scratch one")
    parser.add_argument("--prefix", help="names of the databases this run creates (default <db>_drill_<random>)")
    parser.add_argument("--workdir", type=Path, help="where the dump and the exports go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the databases and files this run created")
    args = parser.parse_args(argv)
    server_url = args.source or os.environ.get("DATABASE_URL", "")
    if not server_url.startswith("postgres"):
        print("restore drill: set DATABASE_URL to a PostgreSQL server (or pass --source)", file=sys.stderr)
        return 2
    prefix = args.prefix or f"{database_of(server_url) or 'claims'}_drill_{secrets.token_hex(4)}"
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="restore-drill-"))
    workdir.mkdir(parents=True, exist_ok=True)
    drill = Drill(server_url=server_url, prefix=prefix, workdir=workdir, python=sys.executable)
    try:
        summary = drill.run(source_url=args.source)
    except DrillFailed as exc:
        print(f"[drill] FAILED {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            drill.drop_created()
            if args.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
