import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from audit.services import Actor
from claims import selectors, services
from core.errors import ApplicationError


class Command(BaseCommand):
    help = "Import an incident's balance snapshot CSV (account_id,name,email,asset,quantity), all or nothing."

    def add_arguments(self, parser) -> None:
        parser.add_argument("incident_code")
        parser.add_argument("file", type=Path)
        parser.add_argument("--as-user", help="username recorded in the audit trail (default: system:cli)")

    def handle(self, *args: object, incident_code: str, file: Path, as_user: str | None, **options: object) -> None:
        if not file.is_file():
            raise CommandError(f"{file} is not a file")
        actor = get_user_model().objects.get(username=as_user) if as_user else Actor.system("system:cli")
        try:
            incident = selectors.incident_get(code=incident_code)
            with (
                file.open("rb") as handle,
                tqdm(total=file.stat().st_size, unit="B", unit_scale=True, desc="validating", file=sys.stderr) as bar,
            ):
                result = services.snapshot_import(
                    actor=actor, incident=incident, file=handle, file_name=file.name, progress=bar.update
                )
        except services.SnapshotRejected as exc:
            self.stderr.write(f"Rejected: {exc.error_count} error(s); nothing was imported.")
            for error in exc.errors:
                self.stderr.write(f"  line {error['line']}: {error['reason']}")
            if exc.error_count > len(exc.errors):
                self.stderr.write(f"  ... and {exc.error_count - len(exc.errors)} more")
            sys.exit(1)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        snapshot = result.snapshot
        if result.created:
            self.stdout.write(
                f"Imported {snapshot.row_count} rows for {snapshot.customer_count} customers; SHA-256 {snapshot.sha256}"
            )
        else:
            self.stdout.write(f"Already imported (SHA-256 {snapshot.sha256}); nothing changed.")
