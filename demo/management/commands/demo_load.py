from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.claims import demo_load


class Command(BaseCommand):
    help = "Load demo data (logins for every role, an incident open for claims). Demo machines only."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="run even with DEBUG off")

    def handle(self, *args: object, force: bool, **options: object) -> None:
        if not (settings.DEBUG or force):
            raise CommandError("demo_load sets known passwords; it runs only with DEBUG=1 (or --force).")
        logins = demo_load()
        self.stdout.write("Demo logins (http://127.0.0.1:8000/login/):")
        for login in logins:
            note = f"  ({login.note})" if login.note else ""
            self.stdout.write(f"  {login.role:<10} {login.username:<20} {login.password}{note}")
        self.stdout.write(
            "Approvers and admins enrol a TOTP app at their first login (QR code); on this demo machine\n"
            "`python manage.py totp_code USERNAME` prints the current code after enrolment."
        )
