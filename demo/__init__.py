"""Demo data for `make run` (`manage.py demo_load`, DEBUG only): a login per role, an incident open for
claims with the sample snapshot, claims at every step, a funded reserve and insurance. Nothing in the
apps imports this package.
"""
