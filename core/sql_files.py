"""PostgreSQL-only SQL of migrations (triggers that refuse what must never happen, storage settings).

The SQL lives in `.sql` files beside the migration that runs it, where it reads and diffs as SQL:

    # claims/migrations/0002_incident_guards.py  +  0002_incident_guards.sql  +  0002_incident_guards.reverse.sql
    operations = [postgres_sql(__file__)]

SQLite (the embedded profile) has no such triggers; there the services' own checks are the guard.
`postgres_recount` calls the recount functions such SQL defines for the figures its triggers keep.
"""

from pathlib import Path
from typing import Any

from django.db import connection, migrations


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


def postgres_recount(*functions: str) -> int:
    """Call these recount functions, which a migration's SQL defined (each returns the rows it wrote), in one
    statement; return the total. 0 on SQLite, which keeps no figures (the readers count the rows there)."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + " + ".join(f"{name}()" for name in functions))
        return int(cursor.fetchone()[0])
