from django.core.management.base import BaseCommand

from reserves.services.figures import payout_figures_rebuild


class Command(BaseCommand):
    help = "Recount the payout figures (regulator totals) from the payouts; PostgreSQL keeps them as money moves."

    def handle(self, *args: object, **options: object) -> None:
        rows = payout_figures_rebuild()
        self.stdout.write(f"payout figures rebuilt: {rows} rows")
