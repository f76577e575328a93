import importlib
import json

from django.core.management.base import BaseCommand
from django.test.utils import override_settings

# name -> module with add_arguments(parser) and run(**options) -> dict (one JSON line).
BENCHMARKS = {
    "snapshot": "benchmarks.snapshot",
    "audit_export": "benchmarks.audit_export",
    "approvals": "benchmarks.approvals",
    "payouts": "benchmarks.payouts",
    "payouts_engine": "benchmarks.payouts_engine",
    "payout_export": "benchmarks.payout_export",
    "single_approvals": "benchmarks.single_approvals",
    "proofs": "benchmarks.proofs",
    "trail": "benchmarks.trail",
    "web": "benchmarks.web",
    "regulator": "benchmarks.regulator",
    "pipeline": "benchmarks.pipeline",
    "lookups": "benchmarks.lookups",
}


class Command(BaseCommand):
    help = "Run a benchmark and print one JSON line (fast path vs naive path, and their ratio)."

    def add_arguments(self, parser) -> None:
        subparsers = parser.add_subparsers(dest="benchmark", required=True)
        for name, module_name in BENCHMARKS.items():
            module = importlib.import_module(module_name)
            module.add_arguments(subparsers.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0]))

    def handle(self, *args: object, benchmark: str, **options: object) -> None:
        module = importlib.import_module(BENCHMARKS[benchmark])
        # What production runs: DEBUG (the demo's `make run`) keeps a log of every query, which costs
        # each query time. The workers and servers a benchmark starts run with DEBUG off too.
        with override_settings(DEBUG=False):
            result = module.run(**options)
        self.stdout.write(json.dumps(result, sort_keys=False))
