"""PostgreSQL enforces the incident lifecycle and frozen reference prices, not only Python.

The SQL is in 0002_incident_guards.sql (reversed by its .reverse.sql), run on PostgreSQL only.
"""

from django.db import migrations

from core.sql_files import postgres_sql


class Migration(migrations.Migration):
    dependencies = [("claims", "0001_initial")]
    operations = [postgres_sql(__file__)]
