"""PostgreSQL guards for holdings, which carry no FK constraints (see Holding's docstring).

The SQL is in 0003_holding_guards.sql (reversed by its .reverse.sql), run on PostgreSQL only.
"""

from django.db import migrations

from core.sql_files import postgres_sql


class Migration(migrations.Migration):
    dependencies = [("claims", "0002_incident_guards")]
    operations = [postgres_sql(__file__)]
