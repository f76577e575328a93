from django.core.management.base import BaseCommand, CommandError

from audit.checkpoints import ChainBroken, checkpoint_create
from audit.signing import SigningKeyMissing


class Command(BaseCommand):
    help = "Sign the audit log's tree head now (what the periodic task audit.checkpoint_sign does)."

    def handle(self, *args: object, **options: object) -> None:
        try:
            checkpoint = checkpoint_create()
        except (SigningKeyMissing, ChainBroken) as exc:
            raise CommandError(exc.detail) from exc
        if checkpoint is None:
            self.stdout.write("Nothing to sign: the log is empty or its size is already signed with this key.")
            return
        self.stdout.write(
            f"Signed checkpoint of size {checkpoint.size}, root {checkpoint.root}, key {checkpoint.key_id[:16]}"
        )
