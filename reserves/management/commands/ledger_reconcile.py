import sys

from django.core.management.base import BaseCommand

from reserves.selectors import ledger_reconcile


class Command(BaseCommand):
    help = (
        "Check the ledger: balances against transfers, the zero sum, and each incident's paid vs drawn. "
        "Exit 1 naming the account on any mismatch."
    )

    def handle(self, *args: object, **options: object) -> None:
        report = ledger_reconcile()
        if report.ok:
            self.stdout.write(f"OK: {report.accounts_checked} accounts reconcile; balances sum to ¥0")
            return
        for problem in report.problems:
            self.stderr.write(f"MISMATCH {problem}")
        sys.exit(1)
