"""PostgreSQL enforces four-eyes approval and the payout lock, not only Python.

- An approval by a user who recommended or adjusted the claim is refused, and so
  is a recommendation or adjustment by someone who already approved it.
- In an appeal round (review_round > 0) nobody who acted in the first round may
  decide or approve.
- A claim becomes approved only with enough distinct approvals in its round
  (required_approvals) and a recommendation by someone else; an appeal that is
  turned down may restore the earlier approval unchanged. Paid follows approved.
  The approved amount of an approved or paid claim never changes.
- The payout choice of a claim with any approval is frozen.

The SQL is in 0005_four_eyes_guards.sql (reversed by its .reverse.sql), run on PostgreSQL only.
"""

from django.db import migrations

from core.sql_files import postgres_sql


class Migration(migrations.Migration):
    dependencies = [("claims", "0004_claims_review")]
    operations = [postgres_sql(__file__)]
