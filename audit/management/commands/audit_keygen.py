import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.signing import key_generate, signer_from_pem


class Command(BaseCommand):
    help = (
        "Generate an Ed25519 signing key for checkpoints and receipts. With PATH, write it there "
        "(mode 0600, never overwriting); without, print the PEM to stdout."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", nargs="?", help="file to create")

    def handle(self, *args: object, path: str | None, **options: object) -> None:
        pem = key_generate()
        key_id = signer_from_pem(pem).key_id
        if path is None:
            self.stdout.write(pem.decode("ascii"), ending="")
            self.stderr.write(f"key id {key_id}")
            return
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise CommandError(f"{target} exists; refusing to overwrite a signing key") from exc
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        self.stdout.write(f"Wrote {target} (key id {key_id}). Set AUDIT_SIGNING_KEY_FILE={target}")
