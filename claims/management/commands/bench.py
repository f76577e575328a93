import importlib
import json

from django.core.management.base import BaseCommand

# name -> module with add_arguments(parser) and run(**options) -> dict (one JSON line).
BENCHMARKS = {
    "snapshot": "claims.benchmarks",
    "audit_export": "audit.benchmarks",
    "approvals": "claims.bench_approvals",
    "payouts": "claims.bench_payouts",
    "payouts_engine": "reserves.benchmarks",
    "payout_export": "reserves.bench_payout_export",
    "single_approvals": "reserves.bench_single_approvals",
    "proofs": "audit.bench_proofs",
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
        result = module.run(**options)
        self.stdout.write(json.dumps(result, sort_keys=False))
