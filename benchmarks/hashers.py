"""The bench's password hasher (see benchmarks/web_settings.py): PBKDF2-SHA256 at 1,000 iterations."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class BenchPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Same algorithm and format as Django's (`pbkdf2_sha256$1000$…`), far fewer iterations. Bench only."""

    iterations = 1000
