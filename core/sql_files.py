"""PostgreSQL-only SQL of migrations (triggers that refuse what must never happen, storage settings).

The SQL lives in `.sql` files beside the migration that runs it, where it reads and diffs as SQL:

    # claims/migrations/0002_incident_guards.py  +  0002_incident_guards.sql  +  0002_incident_guards.reverse.sql
    operations = [postgres_sql(__file__)]

SQLite (the embedded profile) has no such triggers; there the services' own checks are the guard.
"""

from pathlib import Path
from typing import Any

from django.db import migrations


def postgres_sql(migration_file: str) -> migrations.RunPython:
    """An operation running `<migration>.sql` forward and `<migration>.reverse.sql` backward, on PostgreSQL only.

    Without a `.reverse.sql` file, going backward runs nothing (the SQL replaced earlier SQL in place).
    """
    path = Path(migration_file)
    forward_sql = path.with_suffix(".sql").read_text()
    reverse = path.with_name(f"{path.stem}.reverse.sql")
    backward_sql = reverse.read_text() if reverse.exists() else ""

    def forward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(forward_sql, params=None)

    def backward(apps: Any, schema_editor: Any) -> None:
        if backward_sql and schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(backward_sql, params=None)

    return migrations.RunPython(forward, backward)
