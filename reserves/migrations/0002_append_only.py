"""PostgreSQL refuses UPDATE and DELETE of ledger transfers and allocation rounds (they are history).

Also leaves free space in payout and entitlement pages so their updates stay HOT.

The SQL is in 0002_append_only.sql (reversed by its .reverse.sql), run on PostgreSQL only.
"""

from django.db import migrations

from core.sql_files import postgres_sql


class Migration(migrations.Migration):
    dependencies = [("reserves", "0001_initial")]
    operations = [postgres_sql(__file__)]
