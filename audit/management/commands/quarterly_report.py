from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.reports import quarterly_report
from core.reports import report_csv, report_pdf


class Command(BaseCommand):
    help = "Write the quarterly report (e.g. 2026Q3) as CSV and PDF into DIR."

    def add_arguments(self, parser) -> None:
        parser.add_argument("quarter", help="e.g. 2026Q3")
        parser.add_argument("directory", type=Path)

    def handle(self, *args: object, quarter: str, directory: Path, **options: object) -> None:
        try:
            report = quarterly_report(quarter=quarter)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        directory.mkdir(parents=True, exist_ok=True)
        stem = f"quarterly-{quarter.upper().replace('-', '')}"
        with (directory / f"{stem}.csv").open("w", encoding="utf-8-sig", newline="") as handle:
            report_csv(report=report, out=handle)
        with (directory / f"{stem}.pdf").open("wb") as handle:
            report_pdf(report=report, out=handle)
        self.stdout.write(f"Wrote {directory / stem}.csv and .pdf ({len(report.sections)} sections)")
