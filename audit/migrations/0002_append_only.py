"""PostgreSQL refuses UPDATE and DELETE on audit events, and a head that goes backwards or points nowhere.

The SQL is in 0002_append_only.sql (reversed by its .reverse.sql), run on PostgreSQL only.
"""

from django.db import migrations

from core.sql_files import postgres_sql


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [postgres_sql(__file__)]
