from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from claims import services
from claims.models import Incident, Invitation
from core.dispatch import enqueue


class Command(BaseCommand):
    help = "Show an incident's invitations by status; optionally release stuck ones and send what is pending."

    def add_arguments(self, parser) -> None:
        parser.add_argument("incident", help="incident code")
        parser.add_argument(
            "--release-sending",
            action="store_true",
            help="put invitations stuck in 'sending' back to 'pending' (their email may have gone out once)",
        )
        parser.add_argument("--dispatch", action="store_true", help="queue the sending of every pending invitation")

    def handle(self, *args: object, incident: str, release_sending: bool, dispatch: bool, **options: object) -> None:
        found = Incident.objects.filter(code=incident).first()
        if found is None:
            raise CommandError(f"No incident {incident!r}.")
        if release_sending:
            released = services.invitations_release_sending(incident_id=found.pk)
            self.stdout.write(f"released {released} invitation(s) from 'sending'")
        if dispatch:
            enqueue("claims.invitations_dispatch", found.pk)  # through the outbox, like every queued task
            self.stdout.write("dispatch queued")
        counts = dict(
            Invitation.objects.filter(incident=found)
            .values("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        for status in Invitation.Status.values:
            self.stdout.write(f"{status:<8} {counts.get(status, 0)}")
