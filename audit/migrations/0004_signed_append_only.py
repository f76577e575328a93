"""PostgreSQL refuses UPDATE and DELETE on checkpoints, receipts and signing keys, like on events.

The SQL is in 0004_signed_append_only.sql (reversed by its .reverse.sql), run on PostgreSQL only.
"""

from django.db import migrations

from core.sql_files import postgres_sql


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_signing")]
    operations = [postgres_sql(__file__)]
