import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.services import Actor
from claims.payout_guard import customer_kana_import


class Command(BaseCommand):
    help = (
        "Set customers' registered names in katakana from a UTF-8 CSV with the header account_id,name_kana "
        "(the exchange's records); payout account holders are compared with them."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("csv_file", type=Path)

    def handle(self, *args, csv_file: Path, **options) -> None:
        with csv_file.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames != ["account_id", "name_kana"]:
                raise CommandError("the header must be account_id,name_kana")
            rows = [(row["account_id"], row["name_kana"]) for row in reader]
        changed = customer_kana_import(actor=Actor.system("command:customer_kana_import"), rows=rows)
        self.stdout.write(f"{changed} of {len(rows)} customers' kana names set")
