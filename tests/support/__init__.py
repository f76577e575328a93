"""What the tests share: one place for factories, builders, sign-in and mail helpers, and fixtures.

factories      users and roles, customers, incidents, snapshots, claims, uploaded files
login          TOTP devices and codes, verified staff, the test client and the browser past the second factor
money          a funded reserve, incident funds, policies and entitlements (reserves); payouts in the trail
regulator      a small payout history across two incidents (the regulator portal)
fairness       the one-rate check: every claimant of an incident on one point of the curve
returns        a claim approved and sent to the bank, and the bank's answer (returned payouts, corrections)
results        result files as a bank or a wallet system writes them (from docs/rails.md, not our parser)
zengin_layout  an independent reader of the Zengin transfer layout
exchange_core  the exchange core reference server as a real process
workers        waiting for real worker processes; books: the ledger reconciles and the trail verifies after
concurrency    calls racing each other from threads, each on its own connection
audit          events written in bulk, and changes behind the application's back
mail           an email backend that fails on the Nth message
browser        what browser tests check on each page: screenshots kept under reports/e2e/, axe-core, sideways
               scrolling and tap targets on a phone, English on Japanese pages (PageChecks gathers them)
fixtures       pytest fixtures (a plugin of tests/conftest.py): API clients per role, real workers, the browser
"""
