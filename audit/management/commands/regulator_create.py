import secrets
import sys

from django.core.management.base import BaseCommand, CommandError

from audit.services import Actor, regulator_create
from core.errors import ApplicationError


class Command(BaseCommand):
    help = "Create a regulator login (read-only portal). Prints a generated password unless --password-stdin."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", required=True)
        parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    def handle(self, *args: object, username: str, email: str, password_stdin: bool, **options: object) -> None:
        generated = not password_stdin
        password = secrets.token_urlsafe(18) if generated else sys.stdin.readline().rstrip("\n")
        try:
            user = regulator_create(
                actor=Actor.system("command:regulator_create"), username=username, email=email, password=password
            )
        except ApplicationError as exc:
            fields = exc.extra.get("fields")
            raise CommandError(f"{exc.detail} {fields or ''}".strip()) from exc
        self.stdout.write(f"Created regulator {user.username}.")
        if generated:
            self.stdout.write(f"Initial password (shown once): {password}")
