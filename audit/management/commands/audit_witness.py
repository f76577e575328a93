from django.core.management.base import BaseCommand, CommandError

from audit.checkpoints import witness_add, witness_list
from audit.services import Actor
from core.errors import ApplicationError


class Command(BaseCommand):
    help = "Register a witness by its verifier key (`python audit/witness.py keygen` prints it), or list witnesses."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="register a witness: NAME+KEYID+BASE64 (a C2SP cosignature/v1 vkey)")
        add.add_argument("vkey")
        sub.add_parser("list", help="registered witnesses and how far each has cosigned")

    def handle(self, *args: object, action: str, **options: object) -> None:
        if action == "add":
            try:
                witness = witness_add(actor=Actor.system("command:audit_witness"), vkey=str(options["vkey"]))
            except ApplicationError as exc:
                raise CommandError(exc.detail) from exc
            self.stdout.write(f"Registered witness {witness.name}")
            return
        for witness in witness_list():
            self.stdout.write(f"{witness.name}\t{getattr(witness, 'cosigned_size', None) or 0}\t{witness.vkey}")
