from django.core.management.base import BaseCommand

from claims.services.figures import claim_figures_rebuild


class Command(BaseCommand):
    help = "Recount the claims per incident and status (regulator and review counts) that PostgreSQL keeps."

    def handle(self, *args: object, **options: object) -> None:
        rows = claim_figures_rebuild()
        self.stdout.write(f"claim figures rebuilt: {rows} rows")
