import sys

from django.core.management.base import BaseCommand

from audit.services import Actor
from audit.verification import verification_run


class Command(BaseCommand):
    help = (
        "Recompute the audit log's Merkle tree from its events and check the tiles, the head and every signed "
        "checkpoint (the result is kept for the portal). Exit 0 when intact, 1 naming the first problem."
    )

    def handle(self, *args: object, **options: object) -> None:
        result = verification_run(requested_by=Actor.system("command:audit_verify"))
        if result.ok:
            self.stdout.write(f"OK: {result.checked} events, tree size {result.tree_size}, root {result.root}")
            self.stdout.write(f"OK: {result.checkpoints_checked} signed checkpoints match the trail")
            return
        if result.problem:
            where = f" at sequence {result.first_bad_seq}" if result.first_bad_seq is not None else ""
            self.stderr.write(f"BROKEN{where}: {result.problem}")
        for problem in result.checkpoint_problems:
            self.stderr.write(f"BROKEN: {problem}")
        sys.exit(1)
