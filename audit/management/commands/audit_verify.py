import sys

from django.core.management.base import BaseCommand

from audit.services import Actor, verification_run


class Command(BaseCommand):
    help = (
        "Recompute the audit hash chain and check the signed checkpoints (the result is kept for the portal). "
        "Exit 0 when intact, 1 naming the first broken sequence number."
    )

    def handle(self, *args: object, **options: object) -> None:
        result = verification_run(requested_by=Actor.system("command:audit_verify"))
        if result.ok:
            self.stdout.write(f"OK: {result.checked} events, head #{result.head_seq} {result.head_hash}")
            self.stdout.write(f"OK: {result.checkpoints_checked} signed checkpoints match the trail")
            return
        if result.first_bad_seq is not None:
            self.stderr.write(f"BROKEN at sequence {result.first_bad_seq}: {result.problem}")
        for problem in result.checkpoint_problems:
            self.stderr.write(f"BROKEN: {problem}")
        sys.exit(1)
