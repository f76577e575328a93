import io
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from audit.reports import quarterly_report
from core.reports import report_csv, report_pdf
from core.storage import store_bytes


class Command(BaseCommand):
    help = (
        "Write the quarterly report (e.g. 2026Q3) as CSV and PDF: into DIR when given, else into the shared file "
        "store (reports/quarterly-2026Q3.csv and .pdf), where any machine can serve it. --language picks the "
        "report's language (the site's LANGUAGE_CODE unless given)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("quarter", help="e.g. 2026Q3")
        parser.add_argument("directory", type=Path, nargs="?")
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            default=settings.LANGUAGE_CODE,
            help="the report's language (default: %(default)s, the site's LANGUAGE_CODE)",
        )

    def handle(self, *args: object, quarter: str, directory: Path | None, language: str, **options: object) -> None:
        text = io.StringIO(newline="")
        pdf = io.BytesIO()
        with translation.override(language):
            try:
                report = quarterly_report(quarter=quarter)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            report_csv(report=report, out=text)
            report_pdf(report=report, out=pdf)
        stem = f"quarterly-{quarter.upper().replace('-', '')}"
        csv_bytes = text.getvalue().encode("utf-8-sig")
        if directory is None:
            store_bytes(f"reports/{stem}.csv", csv_bytes)
            store_bytes(f"reports/{stem}.pdf", pdf.getvalue())
            where = f"the file store's reports/{stem}"
        else:
            directory.mkdir(parents=True, exist_ok=True)
            (directory / f"{stem}.csv").write_bytes(csv_bytes)
            (directory / f"{stem}.pdf").write_bytes(pdf.getvalue())
            where = str(directory / stem)
        self.stdout.write(f"Wrote {where}.csv and .pdf ({len(report.sections)} sections)")
