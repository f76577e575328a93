import sys

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from reserves.selectors import allocation_replay, fund_get


class Command(BaseCommand):
    help = (
        "Replay an incident's allocation from what was stored: every round's waterfall and population, and every "
        "payout of every round recomputed from the rule (streamed). Exit 1 naming the first problems."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("incident_code")

    def handle(self, *args: object, **options: object) -> None:
        fund = fund_get(incident_code=str(options["incident_code"]))
        with tqdm(total=fund.payouts.count(), desc="replaying payouts", unit="payout", file=sys.stderr) as bar:
            report = allocation_replay(fund=fund, progress=lambda n: bar.update(n - bar.n))
        summary = f"{report.payouts_checked} payouts of {report.rounds_checked} rounds, every one recomputed"
        if report.ok:
            self.stdout.write(f"OK: {fund.incident_code}: {summary}")
            return
        for problem in report.problems:
            self.stderr.write(f"MISMATCH {problem}")
        self.stderr.write(f"{fund.incident_code}: {summary}")
        sys.exit(1)
