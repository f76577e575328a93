"""python manage.py staff_create: a staff member (a person, by employee id) with their first login and role."""

import getpass
import os

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.people import STAFF_ROLE_NAMES, staff_member_create
from audit.services import Actor
from core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Create a staff member with a login and a staff role (audited); the password from --password-env or a prompt."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--employee-id", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--username", required=True)
        parser.add_argument("--role", required=True, choices=STAFF_ROLE_NAMES)
        parser.add_argument(
            "--password-env", default="", help="name of an environment variable holding the initial password"
        )

    def handle(self, *args: object, **options: str) -> None:
        if options["password_env"]:
            password = os.environ.get(options["password_env"], "")
            if not password:
                raise CommandError(f"{options['password_env']} is not set.")
        else:
            password = getpass.getpass("Initial password: ")
        try:
            member = staff_member_create(
                actor=Actor.system("command:staff_create"),
                employee_id=options["employee_id"],
                name=options["name"],
                email=options["email"],
                username=options["username"],
                role=options["role"],
                password=password,
            )
        except ApplicationError as exc:
            fields = exc.extra.get("fields")
            raise CommandError(f"{exc.detail} {fields or ''}".strip()) from exc
        self.stdout.write(
            f"Staff member {member.employee_id} created with login {options['username']} ({options['role']})."
        )
