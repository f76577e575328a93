from django.core.management.base import BaseCommand, CommandError

from audit.services import Actor
from core.errors import ApplicationError
from reserves.services.liabilities import incident_liabilities_publish


class Command(BaseCommand):
    help = "Publish a proof of liabilities for an incident now (a Merkle-sum tree over its eligible claims)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("incident_code")

    def handle(self, *args: object, incident_code: str, **options: object) -> None:
        try:
            tree = incident_liabilities_publish(
                actor=Actor.system("command:liabilities_publish"), incident_code=incident_code
            )
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"Published: {tree.count} claims, total {tree.total_jpy} JPY, root {tree.root}")
