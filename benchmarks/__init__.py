"""Benchmarks: the `bench` command, one module per benchmark, and the worker harness.

    python manage.py bench snapshot|approvals|payouts|payouts_engine|audit_export|payout_export ...

Each benchmark module has `add_arguments(parser)` and `run(**options) -> dict` (printed as one JSON
line: at least bench, n, seconds, fast_per_s, naive_per_s and ratio) and carries the naive path it
compares against. `workers` starts real `celery worker` processes (the tests of reliability use it
too). Nothing in the apps imports this package; figures and how to run them: docs/benchmarks.md.
"""
