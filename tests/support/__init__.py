"""What the tests share: one place for factories, builders, sign-in and mail helpers, and fixtures.

factories  users and roles, customers, incidents, snapshots, claims, uploaded files
login      TOTP devices and codes, verified staff, the test client and the browser past the second factor
money      a funded reserve, incident funds, policies and entitlements (reserves)
regulator  a small payout history across two incidents (the regulator portal)
audit      events written in bulk, and changes behind the application's back
mail       an email backend that fails on the Nth message
fixtures   pytest fixtures (a plugin of tests/conftest.py): API clients per role, real workers, the browser
"""
