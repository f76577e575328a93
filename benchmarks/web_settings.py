"""Settings of the gunicorn that `bench web` starts: the project's own, with one change (below).

The prepared customers' passwords are hashed with PBKDF2-SHA256 at 1,000 iterations
instead of Django's 1,000,000 (`benchmarks.hashers.BenchPBKDF2PasswordHasher`): the
production hash costs ~0.4 s of CPU per login by design, so 300 logins a second would
need ~120 cores for the hash alone. The bench measures the web tier (sessions, tokens,
queries, the audit trail), not the key-stretching; docs/benchmarks.md says what a real
login costs. Listing only that hasher also keeps Django from re-hashing (upgrading)
every prepared password at its first login. Nothing outside the bench uses this module.
"""

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["benchmarks.hashers.BenchPBKDF2PasswordHasher"]
